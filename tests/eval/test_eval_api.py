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


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_library_alone_writes_what_the_cli_writes(trained, tmp_path, capsys):
    """``svta eval`` only parses and calls :func:`svta.eval.outputs.evaluate_and_write`: the Python call writes the
    same files, byte for byte (the timing field of the metrics aside), split and transfer alike."""
    import json

    from svta.cli.main import main
    from svta.eval.outputs import evaluate_and_write

    root, result = trained
    run = result.run_dir
    common = ["--workers", "0", "--device", "cpu"]
    assert main(["eval", "--run", str(run), "--root", str(root), "--out", str(tmp_path / "cli"), *common]) == 0
    written = evaluate_and_write(run, root, out=tmp_path / "api", workers=0, device="cpu")
    cli, api = _files(tmp_path / "cli"), _files(tmp_path / "api")
    assert set(cli) == set(api) and "analysis/head_tail.csv" in api
    for name in cli:
        if name == "metrics.json":
            cli_json, api_json = json.loads(cli[name]), json.loads(api[name])
            assert cli_json.pop("eval_seconds") >= 0 and api_json.pop("eval_seconds") >= 0
            assert cli_json == api_json
        else:
            assert cli[name] == api[name], name
    assert written.paths["metrics"] == tmp_path / "api" / "metrics.json"
    assert written.paths["analysis"] == tmp_path / "api" / "analysis"

    # another dataset: the transfer report goes to RUN/transfer/<dataset>.json by default in both
    spec = f"manifest:{root}"
    assert (
        main(["eval", "--run", str(run), "--dataset", spec, "--json-out", str(tmp_path / "t_cli.json"), *common]) == 0
    )
    by_api = evaluate_and_write(run, spec, json_out=tmp_path / "t_api.json", workers=0, device="cpu")
    assert by_api.paths == {"json": tmp_path / "t_api.json", "markdown": tmp_path / "t_api.md"}
    cli_report, api_report = (json.loads((tmp_path / f"t_{w}.json").read_text()) for w in ("cli", "api"))
    for report in (cli_report, api_report):
        report.pop("seconds", None)
    assert cli_report == api_report
    capsys.readouterr()
