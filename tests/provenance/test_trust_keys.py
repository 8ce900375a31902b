"""Trust lists, keys that work without a terminal, strict JSON, and the migration of
stores and bundles made before the trust model (contract v1, bundle v1, store schema 1)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from lgcraft.cli import main
from lgcraft.errors import ConfigError, InputError
from lgcraft.provenance.strictjson import loads_strict, nesting_depth
from lgcraft.provenance.trust import load_trust, parse_trust

DATA = Path(__file__).resolve().parent / "data"


def run_main(args, capsys, monkeypatch, cwd: Path, env: dict | None = None):
    for var in list(os.environ):
        if var.startswith("LGCRAFT_"):
            monkeypatch.delenv(var)
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("COLUMNS", "200")
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_strict_json_refuses_what_readers_disagree_on():
    with pytest.raises(InputError, match=r"duplicate key 'b' in a\.c\[1\]"):
        loads_strict('{"a": {"c": [1, {"b": 1, "b": 2}]}}', "x.json")
    with pytest.raises(ValueError, match="NaN is not a JSON number"):
        loads_strict('{"a": NaN}', "x.json")
    assert nesting_depth('{"a": "[[[[{{{{", "b": [[1]]}') == 3  # brackets inside strings do not count
    with pytest.raises(InputError, match="nested 40 levels deep"):
        loads_strict("[" * 40 + "]" * 40, "x.json")
    with pytest.raises(InputError, match="more than the limit of 10 bytes"):
        loads_strict('{"a": "0123456789"}', "x.json", max_bytes=10)
    assert loads_strict('{"a": [1, {"b": 2}]}', "x.json") == {"a": [1, {"b": 2}]}


def test_event_files_with_duplicate_keys_are_refused(tmp_path, capsys, monkeypatch, k):
    assert run_main(["provenance", "init"], capsys, monkeypatch, tmp_path)[0] == 0
    (tmp_path / "e.json").write_text('{"item_id": "R-1", "item_id": "R-2", "biz_step": "casting"}')
    code, _, err = run_main(["provenance", "record", "--from", "e.json"], capsys, monkeypatch, tmp_path,
                            {"LGCRAFT_PRIVATE_KEY": k.KEY_A})
    assert code == 2 and "duplicate key 'item_id'" in err


def test_trust_list_is_checked_strictly(k):
    good = load_trust(k.DEMO_TRUST)
    assert good.signer(k.ADDR_B).name == "Longgang Master Setters Workshop"
    assert [o.name for o, _ in good.anchorers(31337, k.ADDR_A)] == ["Shuibei Precision Casting Co."]
    with pytest.raises(ConfigError, match="unknown key 'rolez'"):
        parse_trust('[[organisation]]\nname = "X"\nrolez = ["maker"]\n', "t.toml")
    with pytest.raises(ConfigError, match="is a public development key"):
        parse_trust(f'[[organisation]]\nname = "X"\naddresses = ["{k.ADDR_A}"]\n', "t.toml")
    with pytest.raises(ConfigError, match="a dev organisation cannot anchor on chain 1 "):
        parse_trust(f'[[organisation]]\nname = "X"\ndev = true\n[[organisation.anchor]]\nchain_id = 1\n'
                    f'issuer = "{k.ADDR_A}"\n', "t.toml")
    with pytest.raises(ConfigError, match="one signing key belongs to one organisation"):
        parse_trust(f'[[organisation]]\nname = "X"\ndev = true\naddresses = ["{k.ADDR_A}"]\n'
                    f'[[organisation]]\nname = "Y"\ndev = true\naddresses = ["{k.ADDR_A}"]\n', "t.toml")


def test_trust_add_list_remove(tmp_path, capsys, monkeypatch, k):
    args = ["provenance", "trust", "add", "--trust", "shop.toml", "--name", "GIA Laboratory, Hong Kong",
            "--role", "grader", "--address", k.ADDR_B]
    code, _, err = run_main(args, capsys, monkeypatch, tmp_path)
    assert code == 2 and "is a public development key" in err and not (tmp_path / "shop.toml").exists()
    assert run_main([*args, "--dev"], capsys, monkeypatch, tmp_path)[0] == 0
    code, out, _ = run_main(["--json", "provenance", "trust", "list", "--trust", "shop.toml"], capsys, monkeypatch,
                            tmp_path)
    listed = json.loads(out)["organisations"]
    assert listed[0]["roles"] == ["lab"] and listed[0]["addresses"] == [k.ADDR_B]
    code, _, err = run_main(["provenance", "trust", "add", "--trust", "shop.toml", "--name", "X", "--role", "king"],
                            capsys, monkeypatch, tmp_path)
    assert code == 2 and "--role 'king' is not one of" in err
    assert run_main(["provenance", "trust", "remove", "GIA Laboratory, Hong Kong", "--trust", "shop.toml"],
                    capsys, monkeypatch, tmp_path)[0] == 0
    assert load_trust(tmp_path / "shop.toml").organisations == []


def test_keygen_works_without_a_terminal_and_bad_keys_get_a_hint(tmp_path, capsys, monkeypatch, k):
    code, out, err = run_main(["--json", "provenance", "keygen", "maker-key.json"], capsys, monkeypatch, tmp_path)
    assert code == 0, err
    made = json.loads(out)
    password_file = tmp_path / "maker-key.json.password"
    assert made["password_file"] == "maker-key.json.password" and (password_file.stat().st_mode & 0o777) == 0o600
    assert password_file.read_text().strip() not in out + err
    # the keystore is found by its setting and its password beside it: no prompt, no variable
    env = {"LGCRAFT_PROVENANCE_KEYSTORE": "maker-key.json"}
    code, out, err = run_main(["--json", "provenance", "init"], capsys, monkeypatch, tmp_path, env)
    assert code == 0 and json.loads(out)["signer"] == made["address"], err
    # the README's old placeholder, pasted: refused at init, with the command that makes a key
    code, _, err = run_main(["provenance", "init"], capsys, monkeypatch, tmp_path, {"LGCRAFT_PRIVATE_KEY": "0x..."})
    assert code == 2 and "LGCRAFT_PRIVATE_KEY is not a hex private key" in err
    assert "Hint: make a key with 'lgcraft provenance keygen maker-key.json'" in err
    code, out, err = run_main(["provenance", "keygen", "--dev"], capsys, monkeypatch, tmp_path)
    assert code == 0 and out.startswith(f"export LGCRAFT_PRIVATE_KEY={k.KEY_A}") and "PUBLIC" in err


def test_the_dev_key_is_refused_off_development_chains(k):
    from lgcraft.provenance.cli import _refuse_dev_key_off_dev_chains
    from lgcraft.provenance.signing import signer_from_private_key

    dev = signer_from_private_key(k.KEY_A)
    _refuse_dev_key_off_dev_chains(dev, 31337)
    with pytest.raises(InputError, match="never used on chain 1$"):
        _refuse_dev_key_off_dev_chains(dev, 1)


@pytest.mark.slow
def test_a_v1_store_and_bundle_migrate(tmp_path, k):
    """A store, contract and bundle from before the trust model: the v1 bundle still
    verifies (its contract's code is the published v1), the store is migrated on open,
    and the next anchor installs contract v2 beside v1; the new bundle holds both."""
    shutil.copytree(DATA / "v1-store", tmp_path / ".lgcraft")
    shutil.copy(DATA / "ring.v1.bundle.json", tmp_path / "ring.v1.json")
    names = ["Shuibei Precision Casting Co.", "Longgang Master Setters Workshop", "GIA Laboratory, Hong Kong",
             "Shenzhen Assay Office", "Longgang Jewelry Flagship Store"]
    (tmp_path / "t.toml").write_text(
        f'[[organisation]]\nname = "One-key workshop"\ndev = true\naddresses = ["{k.ADDR_A}"]\n'
        f'roles = ["maker", "setter", "lab", "assay_office", "retailer"]\nnames = {json.dumps(names)}\n'
        f'[[organisation.anchor]]\nchain_id = 131277322940537\nissuer = "{k.ADDR_A}"\n')
    lg = k.Lg(tmp_path)
    report = lg.json("provenance", "verify", "ring.v1.json", "--trust", "t.toml")
    assert report["valid"] and report["bundle_version"] == 1 and report["anchors"][0]["contract_version"] == 1
    status = lg.json("provenance", "status")
    assert status["network"]["contract_version"] == 1 and status["pending"] == 1
    result = lg.json("provenance", "anchor")
    assert result["batches"][0]["contract"] != status["network"]["contract"]
    assert lg.json("provenance", "status")["network"]["contract_version"] == 2
    lg("provenance", "export", "LG-RING-2025-0001", "-o", "ring.json")
    bundle = json.loads((tmp_path / "ring.json").read_text())
    assert bundle["version"] == 2 and [a["contract_version"] for a in bundle["anchors"]] == [1, 2]
    report = lg.json("provenance", "verify", "ring.json", "--trust", "t.toml")
    assert report["valid"] and report["records"] == 6


def test_the_signed_examples_are_what_the_script_makes():
    """scripts/sign_provenance_examples.py is deterministic (RFC 6979): the committed
    signed files and demo trust list are exactly what it writes."""
    import importlib.util

    script = Path(__file__).resolve().parents[2] / "scripts" / "sign_provenance_examples.py"
    spec = importlib.util.spec_from_file_location("sign_examples", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name in ("solitaire-ring", "recycled-earrings"):
        assert module.signed_lines(module.EXAMPLES / f"{name}.jsonl") == \
            (module.EXAMPLES / f"{name}.signed.jsonl").read_text(encoding="utf-8")
    assert module.demo_trust() == (module.EXAMPLES / "demo-trust.toml").read_text(encoding="utf-8")


def test_a_placeholder_issuer_gets_a_hint_naming_where_the_address_is(capsys):
    from lgcraft.cli import main

    assert main(["provenance", "verify", "x.json", "--issuer", "<your address>"]) == 2
    err = capsys.readouterr().err
    assert "'<your address>' is not an EVM address" in err
    assert "Hint:" in err and "signed by" in err and "trust list" in err
