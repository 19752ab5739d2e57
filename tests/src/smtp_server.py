"""A real SMTP server for hookgate's tests: Debian's aiosmtpd on 127.0.0.1, started by
tests/src/smtp.rs with /usr/bin/python3.

    /usr/bin/python3 smtp_server.py CAPTURE_FILE [--login USER] [FAULT=N ...]

Listens on a free port and prints `PORT <n>` on stdout once it accepts connections. Every
message it accepts is appended to CAPTURE_FILE as one JSON line: {"mail_from", "rcpt_tos",
"login", "data" (the raw message, base64)}. With --login, MAIL is refused (530) until the
client has logged in as USER with the password in the SMTP_TEST_PASSWORD variable.

Faults, set at start as FAULT=N or at runtime with the command `XFAULT FAULT N` (answered
`250 faults ...`), each for the next N commands it applies to (-1: until changed):
    tempfail-data  DATA is answered `451 4.3.0 try again later`
    reject-rcpt    RCPT is answered `550 5.1.1 no such user`
    reject-data    DATA is answered `550 5.1.1 no such user`
    drop-data      the connection is closed once the message is in, before any reply
"""

import asyncio
import base64
import json
import os
import sys

from aiosmtpd.smtp import SMTP, AuthResult

FAULTS = ("tempfail-data", "reject-rcpt", "reject-data", "drop-data")


class Recorder:
    """The aiosmtpd handler: applies the faults and records what it accepts."""

    def __init__(self, capture_file, login):
        self.capture_file = capture_file
        self.login = login
        self.faults = {fault: 0 for fault in FAULTS}

    def take(self, fault):
        """Whether `fault` applies to this command (and counts it down)."""
        left = self.faults[fault]
        if left == 0:
            return False
        if left > 0:
            self.faults[fault] = left - 1
        return True

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.login is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.take("reject-rcpt"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.take("drop-data"):
            # The message is in, the reply never comes: the client cannot know whether it was
            # taken, and must try again.
            server.transport.abort()
            return "421 4.4.2 connection dropped"
        if self.take("tempfail-data"):
            return "451 4.3.0 try again later"
        if self.take("reject-data"):
            return "550 5.1.1 no such user"
        login = session.auth_data.login.decode() if session.authenticated else None
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "login": login,
            "data": base64.b64encode(envelope.original_content).decode(),
        }
        with open(self.capture_file, "a", encoding="utf-8") as capture:
            capture.write(json.dumps(record) + "\n")
        return "250 2.0.0 Ok: queued as hookgate-test"


class FaultySMTP(SMTP):
    """aiosmtpd's SMTP with the XFAULT command that switches faults at runtime."""

    async def smtp_XFAULT(self, arg):
        words = (arg or "").split()
        recorder = self.event_handler
        if len(words) != 2 or words[0] not in FAULTS:
            await self.push("501 Syntax: XFAULT " + "|".join(FAULTS) + " N")
            return
        try:
            recorder.faults[words[0]] = int(words[1])
        except ValueError:
            await self.push("501 N must be a number")
            return
        await self.push("250 faults " + json.dumps(recorder.faults, sort_keys=True))


def authenticator(expected_login):
    password = os.environ.get("SMTP_TEST_PASSWORD", "").encode()

    def check(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == expected_login.encode() and auth_data.password == password
        # handled=False: aiosmtpd answers 535 itself (handled=True would leave it unanswered).
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    return check


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    capture_file, rest = args[0], args[1:]
    login = None
    faults = {}
    while rest:
        word = rest.pop(0)
        if word == "--login":
            login = rest.pop(0)
        else:
            fault, _, count = word.partition("=")
            if fault not in FAULTS:
                sys.exit(f"unknown fault {fault!r}; known: {', '.join(FAULTS)}")
            faults[fault] = int(count)
    recorder = Recorder(capture_file, login)
    recorder.faults.update(faults)
    open(capture_file, "a", encoding="utf-8").close()

    def factory():
        options = {"hostname": "hookgate-test-smtp", "decode_data": False}
        if login is not None:
            # The tests talk plain SMTP on loopback; the gateway refuses that anywhere else.
            options.update(authenticator=authenticator(login), auth_require_tls=False)
        return FaultySMTP(recorder, **options)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(loop.create_server(factory, host="127.0.0.1", port=0))
    port = server.sockets[0].getsockname()[1]
    print(f"PORT {port}", flush=True)
    loop.run_forever()


if __name__ == "__main__":
    main()
