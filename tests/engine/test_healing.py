"""Selectors that heal: a later candidate that keeps winning is noted on the job, suggested
for the runbook, and put first by Apply in a new version (docs/recovery.md)."""

import textwrap

import pytest
from support import in_browser_thread, step

from engine.bus.events import get_bus
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.identity import audit
from engine.identity.access import Actor
from engine.runner.worker import execute_job
from engine.service import runbooks
from engine.service.healing import (
    apply_healing,
    healed_steps,
    healing_suggestions,
    preview_healing,
)
from engine.service.jobs import create_job, get_job
from models import JobStatus, Role

# The sign-in button lost its id in a release: the first candidate no longer matches.
HEALING = """
    version: 1
    name: healing
    title: Healing
    # signs in on the demo site
    settings: {base_url: SITE, timeout_ms: 3000, retries: 0, screenshots: off}
    steps:
      - {action: goto, url: /login}
      - {name: user, action: fill, selector: {placeholder: Username}, value: demo}
      - {name: pw, action: fill, selector: {label: Password}, value: demo-password}
      - name: sign-in
        action: click
        selector:
          - "#login-btn"   # the id before the redesign
          - {role: button, name: Sign in}
      - {name: who, action: assert, selector: "#whoami", text: demo}
    """
OPERATOR = Actor(2, "olivia", Role.operator, "test")
VIEWER = Actor(3, "victor", Role.viewer, "test")


@pytest.fixture
def healed_three_times(run_runbook):
    """The runbook run three times, each time signed in through its 2nd candidate."""
    details = [run_runbook(HEALING) for _ in range(3)]
    for detail in details:
        assert detail.job.status == JobStatus.completed, detail.job.error_message
    return details


def run_stored(name: str, settings, runtime):
    """A job of the runbook as stored now (not as a test's YAML would store it again)."""
    job = create_job(name)
    in_browser_thread(execute_job, job.id, settings=settings, bus=get_bus(),
                      heartbeat=runtime.heartbeat)
    return get_job(job.id)


def test_a_later_candidate_that_keeps_winning_is_noted_suggested_and_applied(
        healed_three_times, settings, runtime):
    last = healed_three_times[-1]
    sign_in = step(last, "sign-in")
    assert (sign_in.candidate, sign_in.selector_used) == (1, 'role=button name="Sign in"')
    note = healed_steps(last.job.id)[sign_in.id]
    assert note.text() == ('healed: 2nd candidate `role=button name="Sign in"` won; '
                           "1st `#login-btn` failed in 3 of the last 3 runs")
    assert set(healed_steps(last.job.id)) == {sign_in.id}  # the other steps did not heal

    [suggestion] = healing_suggestions("healing")
    assert suggestion.step == "sign-in"
    assert [(c.candidate, c.wins) for c in suggestion.candidates] == [
        ("#login-btn", 0), ('role=button name="Sign in"', 3)]
    assert suggestion.proposed == [2, 1] and suggestion.jobs == 3

    new_yaml, diff = preview_healing("healing", "sign-in")
    assert ("     selector:\n"
            "+      - {role: button, name: Sign in}\n"
            '       - "#login-btn"   # the id before the redesign\n'
            "-      - {role: button, name: Sign in}\n") in diff
    assert runbooks.get_runbook("healing").version == 1  # a preview stores nothing

    version = apply_healing("healing", "sign-in", by=OPERATOR, source=new_yaml)
    stored = runbooks.get_runbook("healing")
    assert version == stored.version == 2
    assert stored.source == new_yaml
    assert ("    selector:\n"
            "      - {role: button, name: Sign in}\n"
            '      - "#login-btn"   # the id before the redesign\n') in stored.source
    assert "# signs in on the demo site" in stored.source  # comments and layout kept
    [event] = audit.search(audit.AuditFilter(action="healing_applied"))[0]
    assert (event.actor, event.target, event.status_after) == (
        "olivia", "runbook healing", "version 2")
    assert "sign-in" in (event.comment or "")

    after = run_stored("healing", settings, runtime)
    assert after.job.status == JobStatus.completed, after.job.error_message
    assert after.job.runbook_version == 2
    assert step(after, "sign-in").candidate == 0
    assert healed_steps(after.job.id) == {}
    assert healing_suggestions("healing") == []  # the winner is first now


def test_apply_refuses_what_cannot_be_applied(healed_three_times):
    with pytest.raises(NotFound, match='no runbook named "nope"'):
        healing_suggestions("nope")
    with pytest.raises(InvalidInput, match="1 to 200"):
        healing_suggestions("healing", last=0)
    with pytest.raises(InvalidInput, match='no step named "sign-on"'):
        preview_healing("healing", "sign-on")
    with pytest.raises(Conflict, match='nothing to apply to step "pw"'):
        apply_healing("healing", "pw", by=OPERATOR)
    with pytest.raises(Forbidden, match="victor is a viewer.*operator role"):
        apply_healing("healing", "sign-in", by=VIEWER)
    with pytest.raises(Conflict, match="changed since this diff was made"):
        apply_healing("healing", "sign-in", by=OPERATOR, source="version: 1\n")
    assert runbooks.get_runbook("healing").version == 1  # nothing was stored
    assert audit.search(audit.AuditFilter(action="heal_refused"))[1] == 1

    apply_healing("healing", "sign-in", by=OPERATOR)
    with pytest.raises(Conflict, match="nothing to apply"):  # done already
        apply_healing("healing", "sign-in", by=OPERATOR)


def test_a_runbook_edited_since_keeps_only_candidates_it_still_lists(
        healed_three_times, run_runbook):
    # the winning candidate is gone from the new version: nothing to suggest for it
    edited = HEALING.replace("- {role: button, name: Sign in}", "- {text: Sign in}")
    runbooks.add_runbook(textwrap.dedent(edited).replace(
        "SITE", "http://127.0.0.1:1"), "healing.yaml")
    assert healing_suggestions("healing") == []
    with pytest.raises(Conflict, match="no longer lists it"):
        preview_healing("healing", "sign-in")


def test_a_step_that_only_needed_retries_is_noted_without_a_suggestion(run_runbook):
    detail = run_runbook("""
        version: 1
        name: late-healing
        title: Late
        settings: {base_url: SITE, timeout_ms: 6000, retries: 3, screenshots: off}
        steps:
          - {action: goto, url: "/late?delay_ms=1200"}
          - name: more
            action: click
            selector: {role: button, name: Load more}
        """)
    assert detail.job.status == JobStatus.completed, detail.job.error_message
    more = step(detail, "more")
    assert more.candidate == 0 and more.retries >= 1
    note = healed_steps(detail.job.id)[more.id]
    plural = "retry" if more.retries == 1 else "retries"
    assert note.text() == f"healed after {more.retries} {plural}"
    assert healing_suggestions("late-healing") == []


def test_the_rewrite_moves_only_the_candidates_with_their_comments():
    from engine.runbook.rewrite import CannotRewrite, reorder_selector

    source = textwrap.dedent("""\
        version: 1
        steps:
          - {name: a, action: click, selector: ["#old", {text: New}]}  # flow
          - name: loop
            action: repeat
            max: 2
            until: {selector: "#done"}
            steps:
              - name: inner
                action: click
                selector:
                  - '#gone'   # renamed in May
                  # the one that works:
                  - role: button
                    name: Next
        """)
    assert reorder_selector(source, [0], [1, 0]).splitlines()[2] == (
        '  - {name: a, action: click, selector: [{text: New}, "#old"]}  # flow')
    moved = reorder_selector(source, [1, 0], [1, 0])
    assert moved.splitlines()[11:15] == [
        "          - role: button",
        "            name: Next",
        "          # the one that works:",
        "          - '#gone'   # renamed in May"]
    assert moved.splitlines()[:11] == source.splitlines()[:11]
    with pytest.raises(CannotRewrite, match="no step at 2.2"):
        reorder_selector(source, [1, 1], [1, 0])
    aliased = "x: &s [a, b]\nsteps:\n  - {name: a, action: click, selector: *s}\n"
    with pytest.raises(CannotRewrite, match="alias"):
        reorder_selector(aliased, [0], [1, 0])


def test_a_templated_candidate_that_won_is_counted(run_runbook):
    # the winner's text is rendered from a param: it is counted by the runner's index
    templated = HEALING.replace("name: healing", "name: templated-healing").replace(
        "    steps:", '    params:\n      button: {default: Sign in}\n    steps:').replace(
        "{role: button, name: Sign in}", '{role: button, name: "{{button}}"}')
    details = [run_runbook(templated) for _ in range(2)]
    for detail in details:
        assert detail.job.status == JobStatus.completed, detail.job.error_message
    sign_in = step(details[-1], "sign-in")
    assert (sign_in.candidate, sign_in.selector_used) == (1, 'role=button name="Sign in"')
    assert healed_steps(details[-1].job.id)[sign_in.id].text() == (
        'healed: 2nd candidate `role=button name="Sign in"` won; 1st `#login-btn` failed '
        "in 2 of the last 2 runs")
    [suggestion] = healing_suggestions("templated-healing")
    assert [(c.candidate, c.wins) for c in suggestion.candidates] == [
        ("#login-btn", 0), ('role=button name="{{button}}"', 2)]


def test_an_edit_between_the_plan_and_the_store_is_not_overwritten(
        healed_three_times, monkeypatch):
    import engine.service.healing as healing

    new_yaml, _diff = preview_healing("healing", "sign-in")
    edited = runbooks.get_runbook("healing").source.replace("Healing", "Healing, edited")
    plan = healing._plan

    def someone_edits_meanwhile(*args):
        planned = plan(*args)  # the plan is made from version 1 ...
        runbooks.add_runbook(edited, "healing.yaml")  # ... and version 2 is stored now
        return planned

    monkeypatch.setattr(healing, "_plan", someone_edits_meanwhile)
    with pytest.raises(Conflict, match="changed just now"):
        apply_healing("healing", "sign-in", by=OPERATOR, source=new_yaml)
    stored = runbooks.get_runbook("healing")
    assert (stored.version, stored.source) == (2, edited)  # the edit stays
    assert audit.search(audit.AuditFilter(action="healing_applied"))[1] == 0


def test_storing_over_a_version_that_moved_is_refused(healed_three_times):
    source = runbooks.get_runbook("healing").source
    runbooks.add_runbook(source.replace("Healing", "Healing, edited"), "healing.yaml")
    with pytest.raises(Conflict, match="changed since version 1"):
        runbooks.add_runbook(source.replace("Healing", "Healing, mine"), "healing.yaml",
                             expected_version=1)
    assert "Healing, edited" in runbooks.get_runbook("healing").source
    saved = runbooks.add_runbook(source.replace("Healing", "Healing, mine"), "healing.yaml",
                                 expected_version=2)
    assert (saved.outcome, saved.runbook.version) == ("new_version", 3)
