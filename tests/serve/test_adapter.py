"""``--adapter``: a PEFT adapter (or a lamstudio run folder holding ``final/``) is merged into
the base before serving, and the server answers with the adapted weights."""

from __future__ import annotations

from pathlib import Path

import torch
from serve_helpers import client

USER = [{"role": "user", "content": "What is the weather in Paris?"}]


def _adapter(base: Path, out: Path) -> Path:
    """A LoRA adapter whose B matrices are not zero, saved as a run folder's ``final/``."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(str(base)),
                           LoraConfig(r=4, lora_alpha=32, target_modules=["q_proj", "v_proj",
                                                                          "down_proj"]))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5)
    model.save_pretrained(out / "final")
    return out


def test_the_served_model_is_the_base_with_the_adapter_merged(tiny_model: Path,
                                                               tiny_engine, start_server,
                                                               tmp_path: Path) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from lamstudio.serve import TransformersEngine

    run = _adapter(tiny_model, tmp_path / "run")
    engine = TransformersEngine(str(tiny_model), adapter=str(run), model_id="tiny-lora",
                                threads=1, context_length=256)
    expected = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(str(tiny_model)),
                                         str(run / "final")).merge_and_unload().state_dict()
    got = engine.model.state_dict()
    assert set(got) == set(expected)
    assert all(torch.allclose(got[k], expected[k]) for k in expected)
    base = tiny_engine.model.state_dict()
    assert not torch.allclose(got["model.layers.0.self_attn.q_proj.weight"],
                              base["model.layers.0.self_attn.q_proj.weight"])

    srv = start_server(engine, max_tokens=8)
    r = client(srv).chat.completions.create(model="tiny-lora", messages=USER, max_tokens=6,
                                            temperature=0)
    assert r.model == "tiny-lora" and r.usage.completion_tokens <= 6
