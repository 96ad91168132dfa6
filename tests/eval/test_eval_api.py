"""``svta.eval.evaluate``: one entry point for every model source (run folder, weight file, model object) and
every kind of data (a root's split, a set spec, an ItemSet); the same numbers whichever way in, and the same
numbers as the older names it replaces."""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path

import pytest

from svta.errors import InputError
from svta.eval import evaluate


def _retrievalkit():
    path = Path(__file__).parents[1] / "retrieval" / "retrievalkit.py"
    spec = importlib.util.spec_from_file_location("_evaluate_retrievalkit", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from svta.retrieval.trainer import train

    root = tmp_path_factory.mktemp("evaluate")
    _retrievalkit().make_dataset(root, {"train": 4, "val": 2, "test": 5}, frames=2, size=48)
    config = _retrievalkit().tiny_train_config()
    return root, train(root, config)


def test_every_model_source_gives_the_training_runs_numbers(trained):
    from svta.retrieval.evaluate import evaluate_checkpoint, evaluate_run
    from svta.retrieval.model_source import load_model

    root, result = trained
    by_run = evaluate(result.run_dir, split="test", device="cpu", workers=0)  # the run's own root
    by_file = evaluate(result.run_dir / "best_model.bin", root, split="test", device="cpu", workers=0)
    loaded = load_model(result.run_dir, device="cpu")
    by_object = evaluate(loaded.model, root, split="test", sample_fps=loaded.sample_fps, workers=0)
    assert by_run.metrics == by_file.metrics == by_object.metrics
    for direction in ("t2v", "v2t"):  # what the trainer measured on the same weights
        assert by_run.metrics[direction] == {k: result.metrics[direction][k] for k in by_run.metrics[direction]}
    # the older names are thin wrappers over the same loader and core
    with pytest.deprecated_call():
        assert evaluate_run(result.run_dir, split="test", device="cpu").metrics == by_run.metrics
    with pytest.deprecated_call():
        assert evaluate_checkpoint(result.run_dir / "best_model.bin", root, device="cpu").metrics == by_run.metrics


def test_a_set_goes_through_the_same_core_with_its_clean_view(trained):
    root, result = trained
    split = evaluate(result.run_dir, root, split="test", device="cpu", workers=0)
    as_set = evaluate(result.run_dir, f"manifest:{root}", split="test", device="cpu", workers=0)
    assert {k: as_set.full[k] for k in ("t2v", "v2t")} == split.metrics
    assert as_set.clean is None
    assert as_set.model["run"] == str(result.run_dir) and as_set.model["label"].startswith("CLIP4Clip-MeanP")
    first = evaluate_items(root)[0]
    clean = evaluate(result.run_dir, root, split="test", exclude={first}, device="cpu", workers=0)
    assert clean.full == as_set.full  # a root with exclusions is read as a set: same full view
    assert clean.excluded == [first]
    assert clean.counts["clean_texts"] == clean.counts["texts"] - 1


def evaluate_items(root: Path) -> list[str]:
    from svta.eval.api import load_set

    return [item.id for item in load_set(root, "test").items]


def test_bad_combinations_say_what_to_do(trained, tmp_path):
    root, result = trained
    with pytest.raises(InputError, match="no such run folder or weight file"):
        evaluate(tmp_path / "missing", root)
    with pytest.raises(InputError, match="keep_topk"):
        evaluate(result.run_dir, f"manifest:{root}", split="test", keep_topk=5, device="cpu", workers=0)
    with pytest.raises(InputError, match="not a finished svta run"):
        evaluate(tmp_path, root)


def test_cli_and_library_share_one_set_of_defaults():
    from svta.cli.evaluate import eval_command
    from svta.eval.config import EvalConfig

    library = inspect.signature(evaluate).parameters
    cli = inspect.signature(eval_command).parameters
    for name in ("batch_size", "workers"):
        assert cli[name].default == library[name].default, name
    assert library["ties"].default == EvalConfig().ties and library["split"].default == EvalConfig().split


def test_the_transfer_loader_is_the_same_loader(trained):
    from svta.retrieval.model_source import load_model
    from svta.transfer.evaluate import load_eval_model

    _, result = trained
    with pytest.deprecated_call():
        _, info = load_eval_model(run=result.run_dir, device="cpu")
    assert info == load_model(result.run_dir, device="cpu").info
    assert info["run"] == str(result.run_dir) and info["max_frames"] == 2 and info["max_words"] == 12
