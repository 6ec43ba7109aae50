"""The texts the demo writes into its own data for people to read — campaign plans (tasks, owners, budget lines,
descriptions), content topics and authors, the experiment's metric name — in the demo's language:
``reports/labels/demo.json`` (``{"key": [English, 简体, 繁體]}``), read once, on demand."""
from __future__ import annotations


def word(key: str, lang: str, **values) -> str:
    """``demo.<key>`` in ``lang`` (en, zh-Hans, zh-Hant; zh-CN … as ``normalize_lang`` reads it), placeholders filled.

    >>> word("task.holdout_list", "zh-Hans"), word("metric.purchase_within", "en", days=14)
    ('对照组名单', 'purchase within 14 days')
    """
    from ..reports.i18n import LANGS, normalize_lang, on_demand

    texts = on_demand("demo.json")[f"demo.{key}"]
    return (texts[LANGS.index(normalize_lang(lang))] or texts[0]).format(**values)
