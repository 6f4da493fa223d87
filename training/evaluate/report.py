"""One self-contained HTML report: the metrics table, then every plot inlined as base64 PNG."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from jinja2 import Environment, select_autoescape

TEMPLATE = """{% macro interval(bounds, digits=3) %}{% if bounds %}<span class="ci">[{{ fmt(bounds[0], digits) }}, \
{{ fmt(bounds[1], digits) }}]</span>{% endif %}{% endmacro %}
{% macro ci(r, path, value, digits=3) %}{{ fmt(value, digits) }} {{ interval(r.ci95.get(path), digits) }}{% endmacro %}
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>PAPERCLIP evaluation</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;font-size:.9em;margin:1em 0}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right}
th:first-child,td:first-child{text-align:left}
figure{margin:1.5em 0}img{max-width:100%;border:1px solid #eee}
.note{color:#555;font-size:.9em}code{background:#f4f4f4;padding:0 .2em}
.ci{color:#777;font-size:.85em;white-space:nowrap}.warn{background:#fff4d6;border:1px solid #e0b84c;padding:.6em}
</style></head><body>
<h1>PAPERCLIP evaluation</h1>
<p>{{ m.n_pairs }} validation pairs ({{ m.n_images }} images, {{ m.n_proposals }} proposals,
{{ m.n_labelled }} labelled) &middot; captions: <code>{{ m.variant }}</code> &middot; seed {{ m.seed }}</p>
<p class="note">Pixels: {{ m.protocol.pixels }}, {{ m.protocol.precision }}. In brackets: 95% bootstrap
interval over proposals ({{ m.protocol.bootstrap.resamples }} resamples).</p>
{% for w in m.warnings %}<p class="warn"><b>Warning:</b> {{ w }}</p>{% endfor %}
{% for key, name in directions %}<h3>{{ name }}</h3>
<table><tr><th>model</th><th>top-10%</th><th>AUC</th><th>AUC, any caption</th><th>R@1</th><th>R@5</th><th>R@10</th>
<th>median rank</th><th>MRR</th></tr>
{% for label, r in m.models.items() %}{% set d = r[key] %}<tr><td>{{ label }}</td>
<td>{{ ci(r, key ~ ".top_k_accuracy.10", d.top_k_accuracy["10"]) }}</td><td>{{ ci(r, key ~ ".auc", d.auc) }}</td>
<td>{{ ci(r, key ~ ".duplicate_aware.auc", d.duplicate_aware.auc) }}</td>
<td>{{ ci(r, key ~ ".recall_at_1", d.recall_at_1) }}</td><td>{{ ci(r, key ~ ".recall_at_5", d.recall_at_5) }}</td>
<td>{{ ci(r, key ~ ".recall_at_10", d.recall_at_10) }}</td><td>{{ ci(r, key ~ ".median_rank", d.median_rank, 1) }}</td>
<td>{{ ci(r, key ~ ".mrr", d.mrr) }}</td></tr>
{% endfor %}</table>
{% endfor %}<h3>Similarity, class queries, LLM judge</h3>
<table><tr><th>model</th><th>spec</th><th>cosine matched</th><th>cosine shuffled</th><th>gap</th>
<th>class P@10</th><th>free-form P@10</th><th>nDCG@10</th><th>description R@5</th><th>LLM judge P@10</th></tr>
{% for label, r in m.models.items() %}<tr><td>{{ label }}</td><td>{{ r.spec }}</td>
<td>{{ ci(r, "similarity.matched_mean", r.similarity.matched_mean) }}</td>
<td>{{ ci(r, "similarity.shuffled_mean", r.similarity.shuffled_mean) }}</td>
<td>{{ ci(r, "similarity.gap", r.similarity.gap) }}</td>
<td>{{ ci(r, "class_precision_at_10", r.class_precision_at_10) }}</td>
<td>{{ ci(r, "freeform.precision_at_10", r.freeform.precision_at_10) if r.freeform else "\u2013" }}</td>
<td>{{ ci(r, "ndcg_at_10", r.ndcg_at_10) }}</td>
<td>{{ ci(r, "description_retrieval.recall_at_5", r.description_retrieval.recall_at_5) if r.description_retrieval else "\u2013" }}</td>
<td>{{ ci(r, "judge.precision_at_10", r.judge.precision_at_10) if r.judge else "\u2013" }}</td></tr>{% endfor %}
</table>
{% if m.protocol.eval_augment %}<h3>Augmented evaluation ({{ m.protocol.eval_augment }} draws of the training
augmentation, the paper's Fig. 3): mean &plusmn; spread [interval of the mean]</h3>
<table><tr><th>model</th><th>top-10% i&rarr;t</th><th>top-10% t&rarr;i</th><th>AUC i&rarr;t</th><th>AUC t&rarr;i</th>
<th>R@10 i&rarr;t</th><th>R@10 t&rarr;i</th></tr>
{% for label, r in m.models.items() %}{% set a = r.eval_augment %}<tr><td>{{ label }}</td>
{% for path in augmented_paths %}<td>{{ fmt(a.mean[path]) }} &plusmn; {{ fmt(a.std[path]) }}
{{ interval(a.ci95[path]) }}</td>{% endfor %}</tr>{% endfor %}
</table>{% endif %}
{% if m.class_queries %}<p class="note">Class queries (label &rarr; query): {% for label, q in m.class_queries.items() %}
<code>{{ label }}</code> &rarr; &ldquo;{{ q }}&rdquo;{{ "," if not loop.last }} {% endfor %}</p>{% endif %}
{% if m.freeform_queries %}<h3>Free-form queries: precision@10 per class</h3>
<table><tr><th>class</th><th>class query</th>{% for label in m.models %}<th>{{ label }}: class query</th>
<th>{{ label }}: free-form</th>{% endfor %}</tr>
{% for cls in m.freeform_queries %}<tr><td>{{ cls }}</td><td>{{ m.class_queries[cls] }}</td>
{% for label, r in m.models.items() %}<td>{{ fmt(r.classes[cls].precision_at_10) if cls in r.classes else "\u2013" }}</td>
<td>{{ fmt(r.freeform.classes[cls].precision_at_10) if r.freeform and cls in r.freeform.classes else "\u2013" }}</td>
{% endfor %}</tr>{% endfor %}</table>{% endif %}
{% if m.skipped %}<p class="note">Not evaluated: {% for label, why in m.skipped.items() %}
<b>{{ label }}</b> ({{ why }}) {% endfor %}</p>{% endif %}
<div class="note"><h3>How to read this</h3><ul>
<li><b>Intervals</b> resample the validation proposals with replacement (all pairs of a drawn proposal
together) and recompute each figure against the same candidates; a small validation set gives wide ones.</li>
<li><b>top-10%</b> is the paper's headline figure: the share of items whose own pair ranks within the
top 10% of the validation set.</li>
<li><b>AUC</b> is the area under the top-k% curve: the share of items whose own pair ranks within the top
k% of the validation set, averaged over k = 1..100. Chance is about 0.5, perfect is 1.
<i>Any caption</i> counts a hit for any pair of the same proposal (many images share one abstract).</li>
<li><b>R@K</b>, <b>median rank</b> and <b>MRR</b> use the own pair only; ties (identical captions)
count as a random order.</li>
<li><b>cosine gap</b>: mean cosine of matched pairs minus that of pairs shuffled across proposals.</li>
<li><b>class P@10</b>, <b>nDCG@10</b>: text queries made from ground-truth labels (synthetic data), in the
vocabulary's own terms, which are also the terms offline summaries are written with.</li>
<li><b>free-form P@10</b>: the same measure for queries written in a searcher's own words, with no vocabulary
term verbatim (a file of queries per class, given with <code>--freeform</code>); averaged per class, then over
classes.</li>
<li><b>description R@5</b>: share of labelled images whose class is among their 5 nearest descriptions
(the vocabulary plus any class it lacks).</li>
<li><b>LLM judge P@10</b>: share of the top 10 images per paper query whose proposal abstract an LLM
judged could contain the query (the paper: 38% base, 77% fine-tuned).</li></ul></div>
{% for fig in figures %}<figure id="{{ fig.name }}"><h2>{{ fig.title }}</h2>
<img alt="{{ fig.name }}" src="data:image/png;base64,{{ fig.data }}">
<figcaption><a href="{{ fig.name }}">{{ fig.name }}</a></figcaption></figure>
{% endfor %}</body></html>
"""


def _fmt(value: float | None, digits: int = 3) -> str:
    return "\u2013" if value is None else f"{value:.{digits}f}"


def render(metrics: dict[str, Any], figures: list[tuple[str, Path]]) -> str:
    """``figures``: (title, PNG path) in display order; each is inlined and linked by file name."""
    env = Environment(autoescape=select_autoescape(default=True), trim_blocks=True, lstrip_blocks=True)
    return env.from_string(TEMPLATE).render(
        m=metrics,
        fmt=_fmt,
        augmented_paths=[
            f"{d}.{k}"
            for k in ("top_k_accuracy.10", "auc", "recall_at_10")
            for d in ("image_to_text", "text_to_image")
        ],
        directions=[("image_to_text", "image \u2192 text"), ("text_to_image", "text \u2192 image")],
        figures=[
            {"title": title, "name": path.name, "data": base64.b64encode(path.read_bytes()).decode()}
            for title, path in figures
        ],
    )
