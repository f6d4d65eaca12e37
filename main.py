"""Jobdeck's composition root: settings, database, pages, scheduler, workers, ui.run."""

import logging
import os
import sys
from pathlib import Path
from typing import Callable, Optional

import typer

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
app = typer.Typer(add_completion=False, no_args_is_help=False,
                  help="Jobdeck: run browser runbooks as jobs and watch them live.")


def _settings(**overrides):
    from engine.settings import Settings

    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def _print_version(value: bool) -> None:
    if value:
        from engine.version import VERSION

        typer.echo(f"jobdeck {VERSION}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def serve(ctx: typer.Context,
          host: Optional[str] = typer.Option(None, help="Address to listen on (JOBDECK_HOST)."),
          port: Optional[int] = typer.Option(None, help="Port to listen on (JOBDECK_PORT)."),
          no_workers: bool = typer.Option(False, "--no-workers",
                                          help="Run no jobs: no worker process, no threads."),
          workers_in_process: bool = typer.Option(
              False, "--workers-in-process",
              help="Run jobs in threads of this process, not in a worker process "
                   "(JOBDECK_WORKERS_IN_PROCESS)."),
          version: bool = typer.Option(False, "--version", is_eager=True,
                                       callback=_print_version, help="Print the version.")):
    """Start the console (UI, API) and its worker process, unless a command is given."""
    if ctx.invoked_subcommand is not None:
        return
    from pages.server import run_server

    settings = _settings(host=host, port=port)
    if no_workers:
        settings.workers = 0
    if workers_in_process:
        settings.workers_in_process = True
    run_server(settings)  # a port in use or an unreachable database: see the end of this file


@app.command()
def validate(runbook: Path):
    """Check a runbook; print every problem with file:line:column. Exit 0 valid, 2 invalid."""
    from engine.cli.errors import exit_code
    from engine.runbook import RunbookInvalid, load_runbook_file

    try:
        spec = load_runbook_file(runbook)
    except RunbookInvalid as exc:
        for line in exc.errors:
            typer.echo(line, err=True)
        typer.echo(f"{len(exc.errors)} problem(s) in {runbook}", err=True)
        raise typer.Exit(exit_code(exc)) from None
    typer.echo(f"{runbook}: valid ({spec.name}, {len(spec.steps)} steps)")


@app.command()
def run(runbook: Path,
        param: list[str] = typer.Option([], "-p", "--param",
                                        help="name=value, repeatable; name=@path gives a "
                                             "file param its file."),
        report_json: Optional[Path] = typer.Option(None, "--report-json",
                                                   help="Write the report as JSON here."),
        console: Optional[str] = typer.Option(
            None, "--console", help="The running console's address, for {{console_url}} "
            "(JOBDECK_PUBLIC_URL; default http://127.0.0.1:JOBDECK_PORT)."),
        as_name: Optional[str] = typer.Option(None, "--as", help="The user who starts it "
                                              "(recorded; default: cli)."),
        no_input: bool = typer.Option(False, "--no-input",
                                      help="Never ask y/n: an approval step waits for "
                                           "`jobs approve` or the console, as in a script."),
        remind_every: float = typer.Option(60.0, "--remind-every", min=1,
                                           help="Seconds between the lines that say a job "
                                                "still waits for approval (no terminal).")):
    """Run a runbook here with progress; exit 0 completed, 1 failed, 2 invalid input."""
    from engine.cli.run import run_file

    raise typer.Exit(run_file(runbook, _params(param), _settings(public_url=console),
                              report_json,
                              as_name=as_name, no_input=no_input,
                              remind_every_s=remind_every))


def _params(items: list[str]) -> dict[str, str]:
    """`-p name=value` options as a dict; exit 2 for one without `=`."""
    params = {}
    for item in items:
        if "=" not in item:
            typer.echo(f"invalid parameter {item!r}: write it as name=value", err=True)
            raise typer.Exit(2)
        key, value = item.split("=", 1)
        params[key] = value
    return params


@app.command()
def worker(concurrency: int = typer.Option(1, help="Jobs this process runs at once."),
           supervised: bool = typer.Option(False, "--supervised", hidden=True,
                                           help="Started by a console, which it talks to "
                                                "on stdin and stdout.")):
    """Run a queue worker: takes jobs from the queue and runs them in Chromium."""
    from engine.background.worker_child import serve_worker

    if supervised:  # its lines go to the console's log: say whose they are
        tag_log(f"worker {os.getpid()}")
    serve_worker(_settings(), concurrency, supervised=supervised)


def tag_log(tag: str) -> None:
    """Put `[tag]` before the logger's name on every line this process logs."""
    formatter = logging.Formatter(LOG_FORMAT.replace("%(name)s", f"[{tag}] %(name)s"))
    for handler in logging.getLogger().handlers:
        handler.setFormatter(formatter)


db_app = typer.Typer(help="The database's schema: see which version it has, upgrade it.")
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade():
    """Create or upgrade the schema to this version (stop the other processes first)."""
    from engine.store import schema
    from engine.store.db import describe, one_off

    with one_off(_settings().db_url) as engine:
        before, after = schema.upgrade(engine)
    if before == after:
        typer.echo(f"{describe(engine)}: schema {after}, already up to date")
    else:
        typer.echo(f"{describe(engine)}: schema {before} -> {after}")


@db_app.command("current")
def db_current():
    """Print the schema version of the database and the one this Jobdeck needs."""
    from engine.store import schema
    from engine.store.db import describe, one_off

    with one_off(_settings().db_url) as engine, engine.connect() as connection:
        current = schema.current_revision(connection)
    typer.echo(f"{describe(engine)}: schema {current or 'none'}; this Jobdeck needs "
               f"{schema.head()}")


jobs_app = typer.Typer(help="List and show jobs, and act on them: approve, reject, pause, "
                             "resume, cancel, rerun, retry.")
app.add_typer(jobs_app, name="jobs")


@jobs_app.command("list")
def jobs_list(status: Optional[str] = typer.Option(None, help="e.g. running,failed"),
              limit: int = typer.Option(20, help="How many, newest first."),
              as_json: bool = typer.Option(False, "--json", help="Print JSON as GET "
                                           "/api/jobs gives it: {items, total}.")):
    """The newest jobs with what can be done to each."""
    from engine.cli.jobs import list_command

    raise typer.Exit(list_command(_settings(), status, limit, as_json))


@jobs_app.command("show")
def jobs_show(job_id: int = typer.Argument(..., help="The job's id."),
              as_json: bool = typer.Option(False, "--json", help="Print the execution "
                                           "report as GET /api/jobs/ID gives it.")):
    """One job: status, who started it, times, figures, the failed step, artifacts.
    Exit 0 shown, 2 no such job."""
    from engine.cli.jobs import show_command

    raise typer.Exit(show_command(_settings(), job_id, as_json))


JOB_ID = typer.Argument(..., help="The job's id.")
COMMENT = typer.Option(None, "--comment", "-m")
ACTOR = typer.Option(None, "--as", help="The user who acts (must exist and be allowed; "
                     "recorded). Needed to approve or reject while JOBDECK_FOUR_EYES is on.")


def _act(job_id: int, action: str, comment: Optional[str], as_name: Optional[str],
         **options) -> None:
    from engine.cli.jobs import act_command

    raise typer.Exit(act_command(_settings(), job_id, action, comment, as_name, **options))


def _action_command(action: str, summary: str) -> None:
    def command(job_id: int = JOB_ID, comment: Optional[str] = COMMENT,
                as_name: Optional[str] = ACTOR):
        _act(job_id, action, comment, as_name)

    def rerun(job_id: int = JOB_ID, param: list[str] = typer.Option(
            [], "-p", "--param", help="name=value to change, repeatable (name=@path: a file "
            "param's new file); the others keep the job's values."),
            comment: Optional[str] = COMMENT, as_name: Optional[str] = ACTOR):
        _act(job_id, action, comment, as_name, params=_params(param))

    def retry(job_id: int = JOB_ID, from_step: Optional[str] = typer.Option(
            None, "--from", help="The step to start from: its name, or its number as `jobs "
            "show --json` lists the steps (ordinal); default: the failed step."),
            version: str = typer.Option("old", "--version", help="old: the runbook version "
                                        "the job ran; new: the runbook as it is now."),
            comment: Optional[str] = COMMENT, as_name: Optional[str] = ACTOR):
        _act(job_id, action, comment, as_name, from_step=from_step, version=version)

    variants: dict[str, Callable[..., None]] = {"rerun": rerun, "retry": retry}
    chosen = variants.get(action, command)
    chosen.__doc__ = (summary + ". Exit 0 done, 1 not possible now or not allowed, "
                      "2 no such job or user" + (", or bad input." if chosen is not command
                                                 else "."))
    jobs_app.command(action)(chosen)


def _job_action_commands() -> None:
    """`jobs approve|reject|pause|resume|cancel|rerun|retry ID`, from the one table of
    actions."""
    from models import JOB_ACTIONS

    for action, rule in JOB_ACTIONS.items():
        _action_command(action.value, rule.summary)


_job_action_commands()


users_app = typer.Typer(help="Add users and change their roles (the console's Users page "
                              "does the same).")
app.add_typer(users_app, name="users")
ROLES = "viewer, operator, approver or admin"


@users_app.command("create")
def users_create(name: str,
                 role: str = typer.Option(..., help=ROLES),
                 password_stdin: bool = typer.Option(
                     False, "--password-stdin", help="Read the password from stdin (one "
                     "line); else type it, or get a made-up one printed once.")):
    """Add a user. Exit 0 created, 2 refused (the message says why)."""
    from engine.cli.accounts import create_user

    raise typer.Exit(create_user(_settings(), name, role, password_stdin))


@users_app.command("list")
def users_list():
    """Every user with their role and last sign-in."""
    from engine.cli.accounts import list_users

    raise typer.Exit(list_users(_settings()))


@users_app.command("set")
def users_set(name: str,
              role: Optional[str] = typer.Option(None, help=ROLES),
              disable: Optional[bool] = typer.Option(None, "--disable/--enable",
                                                     help="Stop (or allow) signing in."),
              password_stdin: bool = typer.Option(False, "--password-stdin",
                                                  help="A new password from stdin.")):
    """Change a user's role, disable or enable them, or set a new password."""
    from engine.cli.accounts import change_user

    raise typer.Exit(change_user(_settings(), name, role, disable, password_stdin))


tokens_app = typer.Typer(help="API tokens for scripts (Authorization: Bearer <token>).")
app.add_typer(tokens_app, name="tokens")


@tokens_app.command("create")
def tokens_create(user: str, label: str = typer.Option("cli", help="What it is for.")):
    """Make an API token for USER and print it once (alone on stdout)."""
    from engine.cli.accounts import create_token

    raise typer.Exit(create_token(_settings(), user, label))


secrets_app = typer.Typer(help="The secret store that runbooks' secrets come from.")
app.add_typer(secrets_app, name="secrets")


@secrets_app.command("set")
def secrets_set(name: str):
    """Set or replace a secret's value, read from stdin (or typed, not echoed)."""
    from engine.cli.accounts import set_secret

    raise typer.Exit(set_secret(_settings(), name))


@secrets_app.command("key")
def secrets_key():
    """Print a new key for JOBDECK_SECRETS_KEY (encrypts the stored values)."""
    from engine.secrets.store import new_key

    typer.echo(new_key())


notify_app = typer.Typer(help="Notification channels: Apprise URLs (Slack, Teams, e-mail, "
                              "ntfy, …) or signed webhooks (the Notifications page does the "
                              "same).")
app.add_typer(notify_app, name="notify")
AS_ADMIN = typer.Option(None, "--as", help="The admin who acts (recorded; default: the "
                        "operating system's user).")


@notify_app.command("add")
def notify_add(name: str, url: str = typer.Argument(..., help="An Apprise URL (slack://…, "
                                                    "mailto://…, json://…) or an https:// "
                                                    "address for the signed webhook."),
               event: list[str] = typer.Option(..., "--event", "-e", help="job_failed, "
                                               "job_completed, job_recovered, "
                                               "approval_requested, … (repeatable)"),
               runbook: list[str] = typer.Option([], "--runbook", "-r",
                                                 help="Only for this runbook (repeatable; "
                                                      "default: all)."),
               as_name: Optional[str] = AS_ADMIN):
    """Add a channel; a webhook's signing secret is printed once, alone on stdout. Exit 0
    added, 2 refused (the message says why), 1 the name is taken or not allowed."""
    from engine.cli.notify import add_command

    raise typer.Exit(add_command(_settings(), name, url, event, runbook, as_name))


@notify_app.command("list")
def notify_list(as_json: bool = typer.Option(False, "--json", help="Print JSON as GET "
                                             "/api/notifications gives it.")):
    """Every channel: masked URL, events, runbooks, health and last delivery."""
    from engine.cli.notify import list_command

    raise typer.Exit(list_command(_settings(), as_json))


@notify_app.command("test")
def notify_test(channel_id: int = typer.Argument(..., help="The channel's id."),
                as_name: Optional[str] = AS_ADMIN):
    """Send a test message now. Exit 0 sent, 1 it failed (the error is printed), 2 no such
    channel."""
    from engine.cli.notify import test_command

    raise typer.Exit(test_command(_settings(), channel_id, as_name))


@notify_app.command("remove")
def notify_remove(channel_id: int = typer.Argument(..., help="The channel's id."),
                  as_name: Optional[str] = AS_ADMIN):
    """Remove a channel and its deliveries. Exit 0 removed, 2 no such channel."""
    from engine.cli.notify import remove_command

    raise typer.Exit(remove_command(_settings(), channel_id, as_name))


if __name__ == "__main__":
    import multiprocessing

    multiprocessing.freeze_support()  # the packed binary: NiceGUI's process pool re-runs it
    logging.basicConfig(level=os.environ.get("JOBDECK_LOG_LEVEL", "INFO"), format=LOG_FORMAT)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # not a line per timer tick
    logging.getLogger("alembic").setLevel(logging.WARNING)  # `db upgrade` prints its summary
    from pydantic import ValidationError

    from engine.cli.errors import exit_code
    from engine.errors import JobdeckError

    try:
        sys.exit(app())
    except JobdeckError as exc:  # one line that says what to do, never a traceback
        print(exc, file=sys.stderr)
        sys.exit(exit_code(exc))
    except ValidationError as exc:  # a setting from the environment; never echo its value
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "setting"
            name = field if field.isupper() else f"JOBDECK_{field.upper()}"
            print(f"invalid setting {name}: {error['msg'].removeprefix('Value error, ')}",
                  file=sys.stderr)
        sys.exit(2)
