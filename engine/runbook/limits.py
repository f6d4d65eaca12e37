"""How large a runbook may be, checked before the work of reading it can grow.

A runbook comes from anyone who may add one, and the console checks it while it serves
everybody else, so its size, its YAML and its steps are bounded before they are walked:

- its source: `JOBDECK_MAX_RUNBOOK_KB` (256 KB by default), checked before parsing;
- YAML nesting: MAX_YAML_DEPTH levels, checked while composing (SnakeYAML's
  `LoaderOptions.nestingDepthLimit`, 50 by default, is the same bound);
- YAML nodes: at most MAX_YAML_NODES written out, counted while composing;
- aliases: at most MAX_ALIAS_NODES nodes reached through aliases, counted while composing,
  before any value is built ("billion laughs": 9 levels of 9 aliases are 9^9 nodes in
  602 bytes). go-yaml (yaml.v3 `decode.go`) counts decodes under an alias and refuses
  "document contains excessive aliasing"; SnakeYAML refuses more than
  `maxAliasesForCollections` (50) aliases of collections. We count the nodes an alias
  brings in, which lets a runbook merge a small `<<: *defaults` into each of many steps;
- steps: MAX_STEPS, nested ones included, and MAX_NESTING levels of repeat/for_each,
  counted once the YAML is read and before a step is validated.

Each refusal is a LimitExceeded naming the limit; the loader turns it into a problem.
"""

import math
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.composer import Composer
from ruamel.yaml.events import AliasEvent
from ruamel.yaml.nodes import MappingNode, SequenceNode

from engine.runbook.scalars import WrittenConstructor

MAX_STEPS = 1000  # steps in a runbook, those inside repeat and for_each included
MAX_NESTING = 10  # repeat/for_each inside one another
# YAML levels: 10 levels of nested steps take ~22, a step's own values a few more.
MAX_YAML_DEPTH = 50
# Nodes reached through aliases: a merged mapping of defaults in each of 1000 steps fits.
MAX_ALIAS_NODES = 10_000
# Nodes written out: 1000 steps of ~20 values each fit. 256 KB of `[v,v,…]` are 130 000
# nodes, which ruamel's pure-Python parser reads at ~4 000-8 000 nodes a second on a busy
# 2-core machine: this bound halves the worst case.
MAX_YAML_NODES = 50_000
MAX_PROBLEMS = 100  # problems listed for one runbook; more are counted, not listed
# The worst runbook within the limits above is read in ~12 s on a busy 2-core machine (a
# runbook of 100 steps in ~0.1 s); past this, a request is answered with a refusal.
CHECK_SECONDS = 20.0

Pos = tuple[int, int] | None  # 0-based (line, column), None for the whole file
T = TypeVar("T")


class LimitExceeded(Exception):
    """A runbook over one of the limits: `message` names the limit, `pos` is where."""

    def __init__(self, message: str, pos: Pos = None):
        super().__init__(message)
        self.message, self.pos = message, pos


def check_size(source: str, max_kb: int) -> None:
    """Raise LimitExceeded when `source` is over `max_kb` KB (1024 bytes) in UTF-8."""
    limit = max_kb * 1024
    # Each character is at least one byte: a long text is refused without encoding it.
    check_bytes(len(source) if len(source) > limit else
                len(source.encode("utf-8", "surrogatepass")), max_kb)


def check_bytes(size: int, max_kb: int) -> None:
    """Raise LimitExceeded when `size` bytes are over `max_kb` KB (a file, before reading)."""
    if size > max_kb * 1024:
        raise LimitExceeded(f"the runbook is {math.ceil(size / 1024)} KB; the limit is "
                            f"{max_kb} KB (JOBDECK_MAX_RUNBOOK_KB)")


class LimitedComposer(Composer):
    """ruamel's composer that refuses, as it goes, YAML nested deeper than MAX_YAML_DEPTH
    and aliases that bring in more than MAX_ALIAS_NODES nodes in all, so neither the
    constructor nor the loader ever walks an exponential document."""

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        self.sizes: dict[int, int] = {}  # id(node): its nodes, aliases expanded
        self.through_aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        pos = (event.start_mark.line, event.start_mark.column)
        if isinstance(event, AliasEvent):
            target = self.anchors.get(event.anchor)
            if target is not None:  # an undefined alias: ruamel says so
                size = self.sizes.get(id(target))
                if size is None:  # its anchor's node is still open: it holds itself
                    raise LimitExceeded(f"the alias *{event.anchor} is inside the value it "
                                        "names: a value cannot contain itself", pos)
                self.through_aliases += size
                if self.through_aliases > MAX_ALIAS_NODES:
                    raise LimitExceeded(
                        f"aliases here bring in more than {MAX_ALIAS_NODES} values "
                        "(YAML nodes), the limit for a runbook: write the values out, or "
                        "alias fewer or smaller ones", pos)
            return super().compose_node(parent, index)
        if self.depth >= MAX_YAML_DEPTH:
            raise LimitExceeded(f"the YAML nests more than {MAX_YAML_DEPTH} levels deep "
                                "here, the limit for a runbook", pos)
        if len(self.sizes) >= MAX_YAML_NODES:
            raise LimitExceeded(f"the runbook has more than {MAX_YAML_NODES} values (YAML "
                                "nodes) by here, the limit for a runbook", pos)
        node = super().compose_node(parent, index)
        if isinstance(node, SequenceNode):
            children = node.value
        elif isinstance(node, MappingNode):
            children = [n for pair in node.value for n in pair]
        else:
            children = []
        self.sizes[id(node)] = 1 + sum(self.sizes.get(id(c), 1) for c in children)
        return node


def parse_limited(source: str) -> Any:
    """`scalars.parse_yaml` with LimitedComposer: the same round-trip values, and
    LimitExceeded for YAML too deep or aliased too much. Raises MarkedYAMLError on a
    syntax error."""
    yaml = YAML(typ="rt")
    yaml.Constructor = WrittenConstructor
    yaml.Composer = LimitedComposer
    return yaml.load(source)


def check_steps(doc: Any) -> None:
    """Raise LimitExceeded for more than MAX_STEPS steps (nested ones included) or
    repeat/for_each nested more than MAX_NESTING deep. `doc` is a parsed runbook; what is
    not a list of steps is left to the loader to report."""
    count = 0

    def walk(steps: Any, level: int) -> None:
        nonlocal count
        if not isinstance(steps, CommentedSeq):
            return
        count += len(steps)
        for i, step in enumerate(steps):
            if isinstance(step, CommentedMap) and isinstance(step.get("steps"), CommentedSeq):
                if level == MAX_NESTING:
                    raise LimitExceeded(
                        f"steps nest more than {MAX_NESTING} levels deep here (repeat and "
                        f"for_each inside one another); at most {MAX_NESTING}",
                        steps.lc.item(i))
                walk(step["steps"], level + 1)

    if isinstance(doc, CommentedMap):
        walk(doc.get("steps"), 0)
    if count > MAX_STEPS:
        raise LimitExceeded(f"the runbook has {count} steps; at most {MAX_STEPS}, nested "
                            "ones included")


def in_time(check: Callable[[], T], seconds: float = CHECK_SECONDS) -> T:
    """`check()` in a thread of its own; LimitExceeded when it is not done in `seconds`.

    A thread cannot be stopped: one that overruns goes on in the background (a daemon, so
    it never holds up the process's exit). The caller gets its answer in time, and the
    limits above are what keep a check short. Note that code holding the GIL in one C call
    (a regex search, for one) stops every thread, so it must be linear (templating.py)."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = check()
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="runbook-check", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise LimitExceeded(f"the runbook took longer than {seconds:g} s to check; nothing "
                            "was saved: make it smaller or simpler")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
