"""Training data: sources -> encoded examples -> per-epoch mixed, packed, per-rank rows.

Every rank loads and encodes the same sources, computes the same epoch samples and the same
packs, then keeps its own disjoint slice (``_mixing.shard``). Nothing is exchanged between
ranks, yet each one knows every rank's slice: that is what lets rank 0 report exactly how
many examples of each source the whole run consumed, and every rank report real tokens/s.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lamstudio.io import InputError, Reject, RejectWriter, Tally
from lamstudio.train._config import DataConfig, SourceConfig
from lamstudio.train._errors import TrainError
from lamstudio.train._mixing import MixSpec, epoch_sample, shard, split_eval


@dataclass
class Example:
    """One encoded record and where it came from."""

    source: int
    uid: str  # "<source name>/<record id>": unique across sources
    input_ids: list[int]
    labels: list[int]
    enc: Any  # render's Encoded (kept for packing/collating)

    @property
    def n_trained(self) -> int:
        return sum(1 for x in self.labels if x != -100)


@dataclass
class Unit:
    """One training row: a pack of examples, or a single (padded) example."""

    members: list[Example]
    row: Any  # what the collator takes: render's Packed, or an Encoded

    @property
    def tokens(self) -> int:
        return sum(len(m.input_ids) for m in self.members)


@dataclass
class Corpus:
    names: list[str]
    examples: list[list[Example]]  # per source
    tally: Tally = field(default_factory=lambda: Tally(stage="train-data"))

    def sizes(self) -> list[int]:
        return [len(x) for x in self.examples]


def source_name(src: SourceConfig) -> str:
    return src.name or Path(src.path).name.split(".")[0]


def load_corpus(sources: Sequence[SourceConfig], renderer: Any, cfg: DataConfig,
                rejects_path: Path | None) -> Corpus:
    """Read, validate and encode every source; bad rows and unusable examples are rejected
    with a reason (written to ``rejects_path``) and counted: read = kept + rejected."""
    names = [source_name(s) for s in sources]
    if len(set(names)) != len(names):
        raise TrainError(f"data.sources: two sources share a name ({names}); set `name`")
    corpus = Corpus(names, [])
    with RejectWriter(rejects_path) as rejects:
        for i, src in enumerate(sources):
            try:
                records = _read_source(src, corpus.tally, rejects)
            except InputError as exc:
                raise TrainError(f"data.sources.{i}: {exc}") from None
            corpus.examples.append(
                _encode_all(i, names[i], src.path, records, renderer, cfg, corpus.tally, rejects))
    return corpus


def _read_source(src: SourceConfig, tally: Tally,
                 rejects: RejectWriter) -> list[tuple[int, Any]]:
    """``(line, record)`` of every valid row (the line is for the rejects of later checks)."""
    from lamstudio.io import read_rows
    from lamstudio.schema import IdRegistry
    from lamstudio.sources import convert_rows, get_format

    fmt = get_format(src.format)
    rows = fmt.iter_raw(src.path) if hasattr(fmt, "iter_raw") else read_rows(src.path)
    ids = IdRegistry()
    out = []
    for row in rows:
        (res,) = convert_rows([row], fmt.from_row, stage="train", ids=ids)
        if res.record is not None:
            out.append((row.line, res.record))
        elif res.reject is not None:
            tally.reject(res.reject.code, src.path)
            rejects.write(res.reject)
    return out


def _encode_all(i: int, name: str, path: str, records: list[tuple[int, Any]], renderer: Any,
                cfg: DataConfig, tally: Tally, rejects: RejectWriter,
                chunk: int = 256) -> list[Example]:
    out: list[Example] = []
    for start in range(0, len(records), chunk):
        part = records[start:start + chunk]
        for (line, rec), enc in zip(part, _encode_chunk(renderer, [r for _, r in part], cfg),
                                    strict=True):
            code, message = (enc.code, str(enc)) if isinstance(enc, Exception) else \
                _unusable(enc, cfg.max_len)
            if not code:
                out.append(Example(i, f"{name}/{rec.id}", enc.input_ids, enc.labels, enc))
                tally.keep(path)
            else:
                tally.reject(code, path)
                rejects.write(Reject(path, line, code, message, id=rec.id, stage="train"))
    return out


def _encode_chunk(renderer: Any, recs: list[Any], cfg: DataConfig) -> list[Any]:
    """Encodings (one batched tokenizer call), or a ``RenderError`` per record that fails."""
    from lamstudio.render import RenderError

    try:
        return renderer.encode_batch(recs, last_turn_only=cfg.last_turn_only)
    except RenderError:
        pass
    out: list[Any] = []
    for rec in recs:
        try:
            out.append(renderer.encode(rec, last_turn_only=cfg.last_turn_only))
        except RenderError as exc:
            out.append(exc)
    return out


def _unusable(enc: Any, max_len: int) -> tuple[str, str]:
    if len(enc.input_ids) > max_len:
        # Truncating would cut the final answer (or the call) off: drop it, visibly.
        return "too_long", f"{len(enc.input_ids)} tokens > data.max_len {max_len}"
    # labels[0] is never a target (and is masked when packed): look past it.
    if all(x == -100 for x in enc.labels[1:]):
        return "no_trained_tokens", "no assistant token is trained in this record"
    return "", ""


def holdout(corpus: Corpus, fraction: float, seed: int,
            max_eval: int) -> tuple[Corpus, list[Example]]:
    """Split ``fraction`` of every source off for evaluation."""
    train_idx, eval_idx = split_eval(corpus.sizes(), fraction, seed, max_eval)
    train = Corpus(corpus.names, [[ex[j] for j in idx]
                                  for ex, idx in zip(corpus.examples, train_idx, strict=True)],
                   corpus.tally)
    held = [ex[j] for ex, idx in zip(corpus.examples, eval_idx, strict=True) for j in idx]
    return train, held


def make_units(examples: Sequence[Example], max_len: int, packing: bool) -> list[Unit]:
    """Rows for the collator: packs of whole examples (render's ``pack``), or one each."""
    if not packing:
        return [Unit([ex], ex.enc) for ex in examples]
    import dataclasses

    from lamstudio.render import pack

    # The packer reports the ids it put in each sequence; a position in this epoch's list is
    # unique even when a source is upsampled, so every pack maps back to its examples.
    tagged = [dataclasses.replace(ex.enc, id=str(k)) for k, ex in enumerate(examples)]
    result = pack(tagged, max_len, overflow="drop")
    if result.stats.n_dropped:
        raise TrainError(f"internal: the packer dropped {result.stats.n_dropped} examples "
                         "that passed the length and label checks")
    return [Unit([examples[int(k)] for k in seq.ids], seq) for seq in result.sequences]


@dataclass
class EpochPlan:
    epoch: int
    counts: list[int]  # examples sampled per source
    shards: list[list[Unit]]  # per rank, in the order that rank trains on them
    dropped: list[Unit]  # the tail that would have made shards unequal


def plan_epoch(corpus: Corpus, cfg: DataConfig, sources: Sequence[SourceConfig], seed: int,
               epoch: int, world: int) -> EpochPlan:
    specs = [MixSpec(n, len(ex), s.weight, s.epochs)
             for n, ex, s in zip(corpus.names, corpus.examples, sources, strict=True)]
    sample = epoch_sample(specs, seed, epoch, cfg.temperature, cfg.samples_per_epoch)
    examples = [corpus.examples[s][j] for s, j in sample]
    counts = [0] * len(specs)
    for s, _ in sample:
        counts[s] += 1
    units = make_units(examples, cfg.max_len, cfg.packing)
    shards = [shard(units, r, world, seed, epoch) for r in range(world)]
    return EpochPlan(epoch, counts, [s for s, _ in shards], shards[0][1] if shards else [])


@dataclass
class RunPlan:
    """The whole run's data for every rank: rank r trains on ``rows(r)`` in order."""

    names: list[str]
    epochs: list[EpochPlan]
    per_rank: int  # units per rank over the run (after a fractional last epoch)
    batch_size: int
    grad_accum: int
    world: int

    def stream(self, rank: int) -> Iterator[tuple[int, Unit]]:
        n = 0
        for ep in self.epochs:
            for unit in ep.shards[rank]:
                if n == self.per_rank:
                    return
                n += 1
                yield ep.epoch, unit

    def rows(self, rank: int) -> list[Any]:
        return [u.row for _, u in self.stream(rank)]

    @property
    def steps(self) -> int:
        return math.ceil(self.per_rank / (self.batch_size * self.grad_accum))

    def units_after(self, steps: int) -> int:
        return min(self.per_rank, steps * self.batch_size * self.grad_accum)

    def step_tokens(self) -> list[int]:
        """Real (non-pad) tokens of every optimizer step, summed over all ranks."""
        per_step = self.batch_size * self.grad_accum
        out = [0] * self.steps
        for r in range(self.world):
            for k, (_, unit) in enumerate(self.stream(r)):
                out[k // per_step] += unit.tokens
        return out

    def consumed(self, steps: int) -> dict[str, Any]:
        """What the first ``steps`` optimizer steps trained on: per source, per rank ids."""
        n = self.units_after(steps)
        per_source = {name: 0 for name in self.names}
        ranks = []
        for r in range(self.world):
            ids: dict[int, list[str]] = {}
            for k, (epoch, unit) in enumerate(self.stream(r)):
                if k == n:
                    break
                for m in unit.members:
                    per_source[self.names[m.source]] += 1
                    ids.setdefault(epoch, []).append(m.uid)
            ranks.append(ids)
        return {"steps": steps, "units_per_rank": n, "examples_per_source": per_source,
                "example_ids_per_rank": ranks}


def plan_run(corpus: Corpus, cfg: DataConfig, sources: Sequence[SourceConfig], seed: int,
             world: int, batch_size: int, grad_accum: int, epochs: float,
             max_steps: int) -> RunPlan:
    """Plan enough epochs for ``max_steps`` (when > 0) or ``epochs`` (may be fractional)."""
    if not any(corpus.examples):
        raise TrainError("no usable training examples (see the rejects file for why)")
    per_step = batch_size * grad_accum
    plans: list[EpochPlan] = []
    total = 0
    want = max_steps * per_step if max_steps > 0 else None
    n_epochs = math.ceil(epochs) if want is None else 10**6
    for e in range(n_epochs):
        plan = plan_epoch(corpus, cfg, sources, seed, e, world)
        per_rank = len(plan.shards[0])
        if per_rank == 0:
            raise TrainError(f"epoch {e}: {len(plan.dropped)} rows for {world} ranks; "
                             "need at least one row per rank (more data or fewer ranks)")
        plans.append(plan)
        total += per_rank
        if want is not None and total >= want:
            total = want
            break
    if want is None and epochs != math.ceil(epochs):
        last = len(plans[-1].shards[0])
        total -= last - max(1, math.floor(last * (epochs - math.floor(epochs))))
    return RunPlan(corpus.names, plans, total, batch_size, grad_accum, world)


def mix_report(plan: RunPlan, corpus: Corpus, steps: int) -> dict[str, Any]:
    """The JSON that ``mix.json`` holds: planned counts, consumption, drops, rejects."""
    used = plan.consumed(steps)
    return {
        "sources": corpus.names,
        "available_per_source": dict(zip(corpus.names, corpus.sizes(), strict=True)),
        "sampled_per_epoch": [dict(zip(plan.names, ep.counts, strict=True))
                              for ep in plan.epochs],
        "dropped_uneven_tail": [[m.uid for u in ep.dropped for m in u.members]
                                for ep in plan.epochs],
        "consumed_examples_per_source": used["examples_per_source"],
        "steps": steps, "world_size": plan.world, "units_per_rank": used["units_per_rank"],
        "data_tally": corpus.tally.to_dict(),
    }


def write_json(path: Path, value: Any) -> None:
    from lamstudio.io import atomic_path

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(value, indent=1, ensure_ascii=False))
