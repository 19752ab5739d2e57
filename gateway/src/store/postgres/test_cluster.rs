//! A throwaway PostgreSQL for the tests: `HOOKGATE_TEST_DATABASE_URL` when it is set (a server
//! the tests may create databases on), else one cluster per test binary, made with Debian's
//! `initdb` in a temp dir and started on a free port of 127.0.0.1 (unix sockets in the temp
//! dir, `fsync` off), stopped and removed when the test process exits. Each test gets a
//! database of its own, so tests run in parallel on the one cluster.
//!
//! `initdb` and `postgres` refuse to run as root: as root they run as the `postgres` user
//! (`runuser`), in a temp dir it owns. Without PostgreSQL the tests fail, naming `./test.sh`,
//! which installs it (never a skip: a missing database must not pass for a green run).
//!
//! Built for the gateway's unit tests, and with the `test-cluster` feature for the end-to-end
//! tests crate.

use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The server every test database is made on.
struct Server {
    /// A URL of the server without the database name: `postgres://user@host:port`.
    base: String,
    /// The maintenance database to connect to for `CREATE DATABASE`.
    admin_database: String,
    /// The supervisor of a cluster of ours: it stops the server and removes the temp dir once
    /// this pipe closes, at the latest when the test process exits.
    supervisor: Option<Mutex<(Child, ChildStdin)>>,
}

static SERVER: OnceLock<Server> = OnceLock::new();
static DATABASES: AtomicU64 = AtomicU64::new(0);

/// A database of its own for one test, dropped (best effort) with this.
pub struct TestDatabase {
    /// `postgres://.../<name>`.
    pub url: String,
    name: String,
    /// Where `CREATE DATABASE` and `DROP DATABASE` run.
    admin_url: String,
}

impl TestDatabase {
    /// A fresh, empty database.
    pub fn create() -> Self {
        let server = SERVER.get_or_init(Server::start);
        let name = format!(
            "hookgate_test_{}_{}",
            std::process::id(),
            DATABASES.fetch_add(1, Ordering::SeqCst)
        );
        admin(server, &format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|error| panic!("creating the test database {name}: {error}"));
        Self {
            url: format!("{}/{name}", server.base),
            name,
            admin_url: format!("{}/{}", server.base, server.admin_database),
        }
    }

    /// A fresh database named after `purpose` on the server of `url` (made from the database
    /// `url` names, which needs the `CREATEDB` privilege): the bench suite's, on a server the
    /// operator gives, with its own settings (`fsync` on), unlike the tests' cluster.
    pub fn create_on(url: &str, purpose: &str) -> Result<Self, String> {
        let mut parsed = url::Url::parse(url).map_err(|error| format!("{url}: {error}"))?;
        let name = format!("hookgate_{purpose}_{}", std::process::id());
        admin_at(url, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
        admin_at(url, &format!("CREATE DATABASE {name}"))?;
        let admin_url = url.to_string();
        parsed.set_path(&format!("/{name}"));
        Ok(Self {
            url: parsed.to_string(),
            name,
            admin_url,
        })
    }

    /// The server's own process (the postmaster, parent of every backend), when the server
    /// runs on this machine: what the bench suite reads its CPU time from.
    pub fn server_process(&self) -> Option<u32> {
        // Read while the connection is open: its backend exits with it.
        query_number(&self.url, "SELECT pg_backend_pid()", |backend| {
            let stat = std::fs::read_to_string(format!("/proc/{backend}/stat")).ok()?;
            // The parent's pid is the second field after the command name (in parentheses).
            let (_, rest) = stat.rsplit_once(')')?;
            rest.split_whitespace().nth(1)?.parse().ok()
        })
        .ok()
        .flatten()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let _ = admin_at(
            &self.admin_url,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

/// Runs one statement on the server's maintenance database, on a runtime of its own (tests
/// are not inside one).
fn admin(server: &Server, sql: &str) -> Result<(), String> {
    admin_at(&format!("{}/{}", server.base, server.admin_database), sql)
}

/// `then` of the first column of the first row of `sql` (a number), called while the
/// connection is still open.
fn query_number<T: Send + 'static>(
    url: &str,
    sql: &str,
    then: impl FnOnce(i64) -> T + Send + 'static,
) -> Result<T, String> {
    let sql = sql.to_string();
    with_connection(url, move |client| async move {
        let row = client.query_one(&sql, &[]).await?;
        let number = match row.try_get::<_, i32>(0) {
            Ok(number) => i64::from(number),
            Err(_) => row.try_get::<_, i64>(0)?,
        };
        Ok(then(number))
    })
}

/// Runs one statement on the database of `url`.
fn admin_at(url: &str, sql: &str) -> Result<(), String> {
    let sql = sql.to_string();
    with_connection(url, move |client| async move {
        client.batch_execute(&sql).await
    })
}

/// Runs `work` on a connection to the database at `url`, on a runtime of its own (tests are
/// not inside one); a failure as the server's message.
pub fn with_connection<T, Work, Done>(url: &str, work: Work) -> Result<T, String>
where
    T: Send + 'static,
    Work: FnOnce(tokio_postgres::Client) -> Done + Send + 'static,
    Done: std::future::Future<Output = Result<T, tokio_postgres::Error>>,
{
    let url = url.to_string();
    let message = |error: tokio_postgres::Error| match error.as_db_error() {
        Some(db) => db.message().to_string(),
        None => error.to_string(),
    };
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| error.to_string())?;
        runtime.block_on(async move {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .map_err(message)?;
            tokio::spawn(connection);
            work(client).await.map_err(message)
        })
    })
    .join()
    .map_err(|_| "the database thread panicked".to_string())?
}

impl Server {
    fn start() -> Self {
        if let Ok(url) = std::env::var("HOOKGATE_TEST_DATABASE_URL")
            && !url.is_empty()
        {
            return Self::given(&url);
        }
        Self::cluster(None)
    }

    /// `HOOKGATE_TEST_DATABASE_URL`: databases are made next to the one it names.
    fn given(url: &str) -> Self {
        let mut parsed = url::Url::parse(url)
            .unwrap_or_else(|error| panic!("HOOKGATE_TEST_DATABASE_URL does not parse: {error}"));
        let database = parsed.path().trim_start_matches('/').to_string();
        parsed.set_path("");
        parsed.set_query(None);
        Self {
            base: parsed.as_str().trim_end_matches('/').to_string(),
            admin_database: if database.is_empty() {
                "postgres".into()
            } else {
                database
            },
            supervisor: None,
        }
    }

    /// A cluster of our own in a temp dir; with `tls`, the server takes TLS with that
    /// certificate and key, and only the `postgres` superuser may connect without it.
    fn cluster(tls: Option<(&str, &str)>) -> Self {
        let bin = postgres_bin();
        let as_root = is_root();
        let dir = tempfile::Builder::new()
            .prefix("hookgate-pg-")
            .tempdir()
            .expect("a temp dir for the test cluster")
            .keep();
        let data = dir.join("data");
        if as_root {
            let status = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&dir)
                .status()
                .expect("chown runs");
            assert!(status.success(), "chown postgres {} failed", dir.display());
        }
        let initdb = run_as_postgres(as_root, &bin.join("initdb"))
            .args(["--auth=trust", "--username=postgres", "--encoding=UTF8"])
            .args(["--no-sync", "--no-instructions", "-D"])
            .arg(&data)
            .stdout(Stdio::null())
            .output()
            .expect("initdb runs");
        assert!(
            initdb.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&initdb.stderr)
        );
        let mut options = String::new();
        if let Some((certificate, key)) = tls {
            std::fs::write(data.join("server.crt"), certificate).expect("writing server.crt");
            std::fs::write(data.join("server.key"), key).expect("writing server.key");
            std::fs::write(
                data.join("pg_hba.conf"),
                "local all all trust\n\
                 hostnossl all postgres 127.0.0.1/32 trust\n\
                 hostssl all all 127.0.0.1/32 trust\n\
                 hostnossl all all 127.0.0.1/32 reject\n",
            )
            .expect("writing pg_hba.conf");
            if as_root {
                let status = Command::new("chown")
                    .args(["postgres:postgres"])
                    .arg(data.join("server.crt"))
                    .arg(data.join("server.key"))
                    .arg(data.join("pg_hba.conf"))
                    .status()
                    .expect("chown runs");
                assert!(status.success(), "chown of the TLS files failed");
            }
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(
                data.join("server.key"),
                std::fs::Permissions::from_mode(0o600),
            )
            .expect("restricting server.key");
            options.push_str("-c ssl=on");
        }
        let port = free_port();
        // The supervisor starts the server, then reads commands from its stdin — `stop` stops
        // the server, `start` starts it again (a test of an outage) — until the stdin closes
        // (this process exiting closes it): then it stops the server fast and removes the dir.
        const SUPERVISOR: &str = r#"
            bin=$1 data=$2 port=$3 dir=$4 options=$5
            start() {
                "$bin/postgres" -D "$data" -p "$port" -k "$dir" -c listen_addresses=127.0.0.1 \
                    -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
                    -c max_connections=400 $options >>"$dir/server.log" 2>&1 </dev/null &
                server=$!
            }
            start
            while read -r command; do
                case "$command" in
                    stop) kill -INT "$server"; wait "$server" ;;
                    start) start ;;
                esac
            done
            kill -INT "$server"
            wait "$server"
            rm -rf "$dir"
        "#;
        let mut child = run_as_postgres(as_root, Path::new("sh"))
            .args(["-c", SUPERVISOR, "sh"])
            .arg(&bin)
            .arg(&data)
            .arg(port.to_string())
            .arg(&dir)
            .arg(&options)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("the test cluster's supervisor starts");
        let stdin = child.stdin.take().expect("a piped stdin");
        let server = Self {
            base: format!("postgres://postgres@127.0.0.1:{port}"),
            admin_database: "postgres".into(),
            supervisor: Some(Mutex::new((child, stdin))),
        };
        server.wait_until_up();
        server
    }

    /// Waits until the server answers (at most 30 s).
    fn wait_until_up(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match admin(self, "SELECT 1") {
                Ok(()) => return,
                Err(error) if Instant::now() > deadline => {
                    panic!("the test cluster at {} did not start: {error}", self.base)
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// Sends the supervisor a command (`stop`, `start`).
    fn command(&self, command: &str) {
        use std::io::Write;
        let supervisor = self
            .supervisor
            .as_ref()
            .expect("a cluster of our own (not HOOKGATE_TEST_DATABASE_URL)");
        let mut supervisor = supervisor.lock().unwrap_or_else(|e| e.into_inner());
        writeln!(supervisor.1, "{command}").expect("the supervisor reads its commands");
        supervisor
            .1
            .flush()
            .expect("the supervisor reads its commands");
    }
}

/// A cluster of its own for a test that stops and starts the server (an outage), always
/// made with `initdb` (whatever `HOOKGATE_TEST_DATABASE_URL` says); removed when dropped.
pub struct TestCluster {
    server: Server,
}

impl TestCluster {
    /// A new cluster, running.
    pub fn start() -> Self {
        Self {
            server: Server::cluster(None),
        }
    }

    /// A new cluster that takes TLS with this certificate and key (PEM), running; only its
    /// `postgres` superuser may connect without TLS (it makes the databases and roles).
    pub fn start_with_tls(certificate: &str, key: &str) -> Self {
        Self {
            server: Server::cluster(Some((certificate, key))),
        }
    }

    /// Runs statements as the superuser (`CREATE ROLE`, ...).
    pub fn execute(&self, sql: &str) {
        admin(&self.server, sql).unwrap_or_else(|error| panic!("{sql}: {error}"));
    }

    /// The port it listens on, at 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.server
            .base
            .rsplit_once(':')
            .and_then(|(_, port)| port.parse().ok())
            .expect("the cluster's URL has a port")
    }

    /// A fresh database on it; its URL.
    pub fn create_database(&self, name: &str) -> String {
        admin(&self.server, &format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|error| panic!("creating the test database {name}: {error}"));
        format!("{}/{name}", self.server.base)
    }

    /// Stops the server (a fast shutdown: connections are cut) and waits until it is down.
    pub fn stop(&self) {
        self.server.command("stop");
        let deadline = Instant::now() + Duration::from_secs(30);
        while admin(&self.server, "SELECT 1").is_ok() {
            assert!(Instant::now() < deadline, "the test cluster did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Starts the stopped server again and waits until it answers.
    pub fn resume(&self) {
        self.server.command("start");
        self.server.wait_until_up();
    }
}

/// Debian's PostgreSQL binaries, 15 or newer, newest first.
fn postgres_bin() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            (version >= 15 && bin.join("initdb").exists()).then_some((version, bin))
        })
        .collect();
    found.sort();
    match found.pop() {
        Some((_, bin)) => bin,
        None if std::env::var("CI").is_ok_and(|ci| ci == "true") => panic!(
            "PostgreSQL 15 or newer is missing (no /usr/lib/postgresql/<version>/bin/initdb) and \
             CI=true: the PostgreSQL tests never skip; install the postgresql package (./test.sh \
             does) or set HOOKGATE_TEST_DATABASE_URL"
        ),
        None => panic!(
            "PostgreSQL 15 or newer is missing (no /usr/lib/postgresql/<version>/bin/initdb): \
             run the tests with ./test.sh, which installs Debian's postgresql, or set \
             HOOKGATE_TEST_DATABASE_URL=postgres://user@host:port/db to a server the tests may \
             create databases on"
        ),
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.stdout.trim_ascii() == b"0")
}

/// `program`, as the `postgres` user when we are root.
fn run_as_postgres(as_root: bool, program: &Path) -> Command {
    if as_root {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}
