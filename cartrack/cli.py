"""The cartrack command line (Typer)."""

from __future__ import annotations

import getpass
import json
import sys
import time
from pathlib import Path

import typer
from pydantic import ValidationError

from cartrack.identity.checkchar import InvalidCharacterError, check_character
from cartrack.identity.identifiers import IdentifierError, validate_printed
from cartrack.settings import get_settings

app = typer.Typer(help="cartrack: chain of identity for autologous CAR-T therapy.",
                  no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
user_app = typer.Typer(help="Users.", no_args_is_help=True)
audit_app = typer.Typer(help="The Part 11 audit trail.", no_args_is_help=True)
id_app = typer.Typer(help="COI and unit identifiers (ISO 7064 mod 37-2 check characters).",
                     no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(audit_app, name="audit")
app.add_typer(id_app, name="id")


@app.callback()
def _refuse_bad_settings() -> None:
    """Every command starts by reading the CARTRACK_* settings, and stops on a wrong one."""
    try:
        get_settings()
    except ValidationError as exc:
        problems = [str(e["msg"]).removeprefix("Value error, ") for e in exc.errors()]
        typer.echo("cartrack: refusing to start: " + "; ".join(problems), err=True)
        raise typer.Exit(2) from exc


def _database_url() -> str:
    return get_settings().database_url


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the schema to the newest migration."""
    from cartrack.migrate import upgrade

    upgrade(_database_url())
    typer.echo("database is at the newest schema")


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000,
          scheduler: bool | None = typer.Option(None, help="run the alert scheduler in this process "
                                                           "(default: CARTRACK_SCHEDULER_ENABLED)"),
          migrate: bool = typer.Option(True, help="migrate the schema first; replicas behind a "
                                                  "one-shot `cartrack db upgrade` pass --no-migrate")
          ) -> None:
    """Run the API and the web UI (and, embedded, the alert scheduler)."""
    import uvicorn

    from cartrack import logs
    from cartrack.app import create_app
    from cartrack.migrate import upgrade

    log_config = logs.configure()
    if migrate:
        upgrade(_database_url())
    uvicorn.run(create_app(start_scheduler=scheduler), host=host, port=port,
                log_config=log_config, proxy_headers=False)


@app.command()
def demo(host: str = "127.0.0.1", port: int = 8000,
         serve_after: bool = typer.Option(True, "--serve/--no-serve")) -> None:
    """Build a fresh demo database in CARTRACK_DATABASE_URL, then serve it."""
    from cartrack.db import new_session
    from cartrack.demo import seed
    from cartrack.migrate import reset

    settings = get_settings()
    started, cpu = time.perf_counter(), time.process_time()
    reset(settings.database_url)
    with new_session() as session:
        cases = seed(session, settings.demo_password)
        session.commit()
    typer.echo(f"demo database ready in {time.perf_counter() - started:.1f} s "
               f"({time.process_time() - cpu:.1f} s of CPU; {cases} cases, a year of history); "
               "sign in as coordinator, lab_tech, qa, infusion_staff, ... with the demo password "
               f"at http://{host}:{port}")
    if serve_after:
        serve(host=host, port=port, scheduler=None, migrate=False)


@user_app.command("add")
def user_add(username: str, full_name: str = typer.Option(..., "--name"),
             role: list[str] = typer.Option(..., help="ROLE@SITE_CODE, or admin"),
             email: str | None = None) -> None:
    """Add a user; the password is read from the terminal (or CARTRACK_NEW_PASSWORD)."""
    import os

    from pydantic import ValidationError

    from cartrack.db import new_session
    from cartrack.errors import DomainError
    from cartrack.users.models import MembershipIn, UserIn
    from cartrack.users.service import create_user

    password = os.environ.get("CARTRACK_NEW_PASSWORD") or getpass.getpass("Password: ")
    try:
        memberships = [MembershipIn(role=r.split("@")[0], site_code=[*r.split("@"), None][1])
                       for r in role]  # type: ignore[arg-type]
        data = UserIn(username=username, full_name=full_name, email=email, password=password,
                      memberships=memberships)
        with new_session() as session:
            create_user(session, None, data)
            session.commit()
    except (ValidationError, DomainError) as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"user {username} added")


@audit_app.command("verify")
def audit_verify() -> None:
    """Walk the hash chain: exit 0 with the row count, or 1 naming the first broken row."""
    from cartrack.audit.service import verify_chain
    from cartrack.db import new_session

    with new_session(read_only=True) as session:
        result = verify_chain(session)
    if result.ok:
        typer.echo(f"audit trail intact: {result.rows} rows")
        return
    typer.echo(f"audit trail BROKEN at row {result.broken_id}: {result.problem} "
               f"({result.rows} rows verified before it)", err=True)
    raise typer.Exit(1)


@app.command("backup")
def backup_cmd(file: Path = typer.Argument(..., help="the backup file to write")) -> None:
    """An online, consistent backup of CARTRACK_DATABASE_URL (SQLite backup API, or pg_dump)."""
    from cartrack.backup import BackupError, backup

    try:
        backup(_database_url(), file)
    except BackupError as exc:
        typer.echo(f"backup failed: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"backup written to {file}")


@app.command("restore")
def restore_cmd(file: Path = typer.Argument(..., help="a file written by `cartrack backup`"),
                yes: bool = typer.Option(False, "--yes", help="replace the data in "
                                         "CARTRACK_DATABASE_URL without asking")) -> None:
    """Replace the database with a backup, after its audit chain verifies (stop the API and
    the scheduler first). A backup whose chain is broken is refused: exit 1, nothing changed."""
    from cartrack.backup import BackupError, restore

    if not yes and not typer.confirm("Replace every record in the database with the backup?"):
        raise typer.Exit(2)
    try:
        restored = restore(_database_url(), file)
    except BackupError as exc:
        typer.echo(f"restore refused: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"restored from {file}; audit trail intact: {restored.audit_rows} rows")


@id_app.command("check-char")
def id_check_char(value: str) -> None:
    """Print the ISO 7064 mod 37-2 check character of VALUE."""
    try:
        typer.echo(check_character(value))
    except InvalidCharacterError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


@id_app.command("validate")
def id_validate(text: str) -> None:
    """Check an eye-readable COI or unit ID with its check character (exit 0 valid, 1 invalid)."""
    try:
        kind, value = validate_printed(text)
    except IdentifierError as exc:
        typer.echo(f"invalid: {exc}")
        raise typer.Exit(1) from exc
    typer.echo(f"valid {kind} {value}")


@app.command()
def openapi(output: Path = typer.Option(None, "-o")) -> None:
    """Write the OpenAPI spec (for the frontend's generated client)."""
    from cartrack.app import create_app

    spec = json.dumps(create_app(start_scheduler=False).openapi(), indent=2, sort_keys=True)
    if output:
        output.write_text(spec + "\n")
    else:
        sys.stdout.write(spec + "\n")


@app.command("scheduler")
def scheduler_cmd(metrics_port: int = typer.Option(0, help="serve Prometheus metrics on this "
                                                           "port (0: none)")) -> None:
    """Run the alert scheduler alone (then run API processes with CARTRACK_SCHEDULER_ENABLED=false).

    Any number may run against one database: one leads (it holds the leader lock), the others
    stand by and take over when it dies; each alert is delivered once."""
    import logging

    from prometheus_client import start_http_server

    from cartrack import logs
    from cartrack.alerts.scheduler import AlertScheduler, run_forever

    logs.configure()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per webhook sent is noise
    if metrics_port:
        start_http_server(metrics_port)

    def ready(s: AlertScheduler) -> None:
        typer.echo(f"alert scheduler {s.instance} running every {s.poll_seconds} s")

    run_forever(ready)


@app.command()
def labels(case: str = typer.Argument(..., help="case number or COI (with or without its K)"),
           fmt: str = typer.Option("pdf", "--format", help="pdf (one page per label) or zpl"),
           output: Path = typer.Option(..., "-o", "--output", help="file to write"),
           size: str = typer.Option("4x4in", help="label stock: 4x4in, 4x2in or 2x1in"),
           copies: int = typer.Option(1, min=1, max=20),
           reason: str | None = typer.Option(None, help="reprint reason (required for labels "
                                                        "printed before)"),
           user: str | None = typer.Option(None, help="print as this user (their role and "
                                                      "site decide patient details); default: "
                                                      "the operator at the command line")) -> None:
    """Print every active label of a case (bags and wristband); the print is recorded."""
    from sqlmodel import select

    from cartrack.db import new_session
    from cartrack.errors import DomainError
    from cartrack.labels import service as labels_service
    from cartrack.security import load_principal
    from cartrack.users.models import User

    if fmt not in ("pdf", "zpl"):
        typer.echo("refused: --format must be pdf or zpl", err=True)
        raise typer.Exit(2)
    try:
        with new_session() as session:
            printer = labels_service.cli_printer()
            if user is not None:
                found = session.exec(select(User).where(User.username == user)).first()
                if found is None or not found.active:
                    typer.echo(f"refused: no active user {user}", err=True)
                    raise typer.Exit(2)
                printer = labels_service.Printer(load_principal(session, found, "cli"))
            rendered = labels_service.print_case(
                session, printer, case, fmt, labels_service.PrintOptions(size, copies, reason))
            output.write_bytes(rendered.content)
            session.commit()
    except DomainError as exc:
        typer.echo(f"refused: {exc.detail}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"{len(rendered.prints)} label(s), {copies} cop{'y' if copies == 1 else 'ies'} "
               f"each, written to {output}")


if __name__ == "__main__":
    app()
