"""YAML scalars as written: where the runbook format expects text, a value is the text in
the file (`zip: 01234` is "01234", `1.50` is "1.50", `true` is "true", `0x1F` is "0x1F",
`2026-12-03` is "2026-12-03"), not Python's rendering of what YAML made of it ("1234",
"1.5", "True", "31").

Why keep the text from the parser rather than rebuild it from ruamel's round-trip types
(ScalarInt's width, ScalarFloat's precision): a boolean or a date carries no spelling
(`true`, `True` and `TRUE` are one `True`), and rebuilding a float's text from its parts
is a rule per notation. The scanner already has each scalar's characters; the
constructor here keeps them on the mapping or sequence that holds the scalar, keyed like
the value (and, through merge keys, found in the merged mapping), so `as_written` is one
lookup whatever the type.
"""

from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.constructor import RoundTripConstructor, SafeConstructor
from ruamel.yaml.nodes import ScalarNode

# Attributes set on the CommentedMap / CommentedSeq a document is made of:
# {key or index: the value's text as written} and, for a mapping, {key: the key's text}.
_VALUES = "_jobdeck_written"
_KEYS = "_jobdeck_written_keys"


class WrittenConstructor(RoundTripConstructor):
    """ruamel's round-trip constructor that also keeps each scalar's source text on its
    container (read by `as_written`), and makes an anchored boolean (`&on true`) a plain
    `bool` rather than ruamel's int-based ScalarBoolean, so it stays a boolean, and an
    explicit `!!str 012` a plain str."""

    def construct_mapping(  # type: ignore[override]  # as ruamel's RoundTripConstructor
            self, node: Any, maptyp: Any, deep: bool = False) -> Any:
        super().construct_mapping(node, maptyp, deep=deep)
        values, keys = {}, {}
        for key_node, value_node in node.value:  # merge keys (<<) are gone from it by now
            key = self.constructed_objects.get(key_node)
            if key is None or not isinstance(key_node, ScalarNode):
                continue
            keys[key] = key_node.value
            if isinstance(value_node, ScalarNode):
                values[key] = value_node.value
        setattr(maptyp, _VALUES, values)
        setattr(maptyp, _KEYS, keys)

    def construct_rt_sequence(self, node: Any, seqtyp: Any, deep: bool = False) -> Any:
        items = super().construct_rt_sequence(node, seqtyp, deep=deep)
        setattr(seqtyp, _VALUES, {i: child.value for i, child in enumerate(node.value)
                                  if isinstance(child, ScalarNode)})
        return items

    def construct_yaml_sbool(self, node: Any) -> bool:
        return bool(SafeConstructor.construct_yaml_bool(self, node))

    def construct_yaml_str(self, node: Any) -> Any:
        if node.ctag.handle:  # `!!str 012`: text, not ruamel's TaggedScalar (no str)
            return str(self.construct_scalar(node))
        return super().construct_yaml_str(node)


WrittenConstructor.add_constructor("tag:yaml.org,2002:bool",
                                   WrittenConstructor.construct_yaml_sbool)
WrittenConstructor.add_constructor("tag:yaml.org,2002:str",
                                   WrittenConstructor.construct_yaml_str)


def parse_yaml(source: str) -> Any:
    """Parse YAML 1.2 text into ruamel's round-trip mappings and sequences (line and
    column on every node), keeping each scalar's text for `as_written`.
    Raises ruamel.yaml.error.MarkedYAMLError on a syntax error."""
    yaml = YAML(typ="rt")
    yaml.Constructor = WrittenConstructor
    return yaml.load(source)


def as_written(node: Any, key: Any, *, of_key: bool = False) -> str | None:
    """The text of the scalar at `node[key]` exactly as the YAML file has it.

    `node` is a mapping or a sequence made by `parse_yaml`, `key` a key of it (a merged
    one included: `<<: *defaults`) or an index; with `of_key`, the key's own text (a
    mapping key `007:` is "007"). Returns the text for any scalar (a quoted or block
    string as YAML read it; a plain `01234`, `1.50`, `true`, `0x1F`, `1_000`, `-0` or
    `2026-12-03` character for character), and None for a null (`~`, `null`, nothing), a
    missing key, or a mapping or list (not text: the caller reports that).
    """
    if of_key:
        value = key
    elif isinstance(node, CommentedMap) and key not in node:
        return None
    else:
        value = node[key]
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, str):
        return str(value)
    text = _source_text(node, key, _KEYS if of_key else _VALUES)
    return str(value) if text is None else text  # a container not from parse_yaml


def written_at(node: CommentedMap, key: Any, *, of_key: bool = False) -> tuple[int, int]:
    """The 0-based (line, column) of `node[key]`'s value (of the key with `of_key`). A key
    merged in (`<<: *defaults`) has no place in `node` itself: it is where the mapping it
    came from has it (or, failing that, where `node` starts)."""
    if key in node.lc.data:
        return node.lc.key(key) if of_key else node.lc.value(key)
    merged = _merged_from(node, key)
    return (node.lc.line, node.lc.col) if merged is None else written_at(merged, key,
                                                                          of_key=of_key)


def _merged_from(node: Any, key: Any) -> Any:
    """The mapping a merge key (`<<`) brought `key` into `node` from, or None."""
    if not isinstance(node, CommentedMap) or key in node.lc.data:
        return None
    for merged in getattr(node, "merge", []):
        merged = merged[1] if isinstance(merged, tuple) else merged  # older ruamel: (pos, map)
        if key in merged:
            return merged
    return None


def _source_text(node: Any, key: Any, table: str) -> str | None:
    texts = getattr(node, table, None) or {}
    if key in texts:
        return texts[key]
    merged = _merged_from(node, key)
    return None if merged is None else _source_text(merged, key, table)

