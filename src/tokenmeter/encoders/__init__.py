"""Per-model token rules: frozen dataclasses that bind a kernel to a model's constants.

A rule kind (``"qwen.smart_resize"``, ``"openai.tiles"``…) is a class registered under its
name; a catalog entry names the kind and gives its constants. Third parties add kinds with
:func:`register_rule` (usually from a ``tokenmeter.plugins`` entry point).
"""

from ._base import AudioRule, ImageRule, Rule, RuleResult, VideoRule
from ._registry import get_rule_class, register_rule, rule_kinds

__all__ = [
    "AudioRule",
    "ImageRule",
    "Rule",
    "RuleResult",
    "VideoRule",
    "get_rule_class",
    "register_rule",
    "rule_kinds",
]
