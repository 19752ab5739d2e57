//! `POST /backup`: a consistent copy of the running gateway's redb database, as the answer's
//! body (an admin's: it holds every secret the gateway keeps).

use super::ApiRoute;
use super::openapi::ErrorAnswer;
use crate::http::HttpState;
use crate::ops::OpsError;
use actix_web::{HttpResponse, web};
use std::io::Read;

/// The routes, each described by its handler's `#[utoipa::path]`.
pub const ROUTES: &[ApiRoute] = &[ApiRoute::documented::<__path_backup>(|route| {
    route.to(backup)
})];

/// How much of the copy one chunk of the answer carries.
const CHUNK_BYTES: usize = 256 * 1024;

/// A consistent copy of the database (one commit's state, made while the gateway runs), as a
/// redb file: put it at `<data-dir>/hookgate.redb` and start a gateway there to restore it.
#[utoipa::path(
    post,
    path = "/backup",
    operation_id = "makeBackup",
    responses(
        (status = 200, description = "the redb file", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 409, description = "the records are in PostgreSQL (use pg_dump)", body = ErrorAnswer),
        (status = 401, description = "no valid admin token", body = ErrorAnswer),
    )
)]
async fn backup(state: web::Data<HttpState>) -> Result<HttpResponse, OpsError> {
    let services = state.services.clone();
    let made = crate::ops::blocking(move || crate::ops::backup::make(&services)).await?;
    let rows = made.rows;
    let chunks = futures_util::stream::unfold(Some(made.file), |file| async move {
        let mut file = file?;
        let read = tokio::task::spawn_blocking(move || {
            let mut chunk = vec![0; CHUNK_BYTES];
            let read = file.read(&mut chunk)?;
            chunk.truncate(read);
            Ok::<_, std::io::Error>((chunk, file))
        })
        .await;
        match read {
            Ok(Ok((chunk, _))) if chunk.is_empty() => None,
            Ok(Ok((chunk, file))) => Some((Ok(web::Bytes::from(chunk)), Some(file))),
            Ok(Err(error)) => Some((Err(error), None)),
            Err(error) => Some((Err(std::io::Error::other(error)), None)),
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("application/octet-stream")
        .insert_header(("Content-Length", made.bytes.to_string()))
        .insert_header(("X-Hookgate-Backup-Rows", rows.to_string()))
        .streaming(chunks))
}
