"""Oracle fixtures for modeltap's training-dataset reader (src/adapters/fs/dataset-file.ts).

Writes small iris-like files into test/fixtures/datasets/, the same rows as CSV (CRLF, quoted
cells, doubled quotes, a newline inside a quoted cell, empty cells, a column named __proto__), as
JSON lines (a key missing from some lines) and as Parquet written by pyarrow (default snappy, and
zstd), plus a Parquet file with an int64 beyond 2^53 and one with a list column, which the reader
must refuse. expected.json holds what pandas reads from each file, under the typing rules of
docs/monitoring.md ("Baseline from a file"): only an empty cell is missing, so read_csv runs with
keep_default_na=False, na_values=[""]; read_json with dtype=False and
precise_float=True (its default float parser is off by an ulp). NaN becomes
null, datetimes ISO 8601 strings in JavaScript's Date.toISOString form.

The rows come from a seeded numpy Generator, so the output is the same on every run with the same
pandas and pyarrow. To regenerate (from the repository root; the venv lives outside it):

    python3 -m venv /tmp/oracle-venv && /tmp/oracle-venv/bin/pip install numpy pandas pyarrow
    /tmp/oracle-venv/bin/python tools/oracle/dataset_fixtures.py

The unit test (test/unit/dataset-file.test.ts) needs only the files, never Python.
"""

import datetime
import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

OUT = Path(__file__).resolve().parents[2] / "test" / "fixtures" / "datasets"
SPECIES = ["setosa", "versicolor", "virginica"]


def rows():
    rng = np.random.default_rng(13)
    out = []
    for i in range(40):
        s = SPECIES[i % 3]
        out.append(
            {
                "sepal_length": round(float(rng.normal(5.8, 0.8)), 1),
                "sepal_width": round(float(rng.normal(3.0, 0.4)), 1),
                "petal_length": round(float(rng.normal(3.7, 1.7)), 2),
                "species": s,
                "is_setosa": s == "setosa",
                "count": int(rng.integers(0, 1000)),
                "note": None,
                "__proto__": f"p{i}",
            }
        )
    # Edge cells, each written so the CSV must quote it.
    out[1]["note"] = 'said "hi", then left'
    out[2]["note"] = "two\r\nlines"
    out[3]["note"] = "one\nline break"
    out[4]["note"] = ""  # an empty cell: missing in CSV, an empty string in JSON lines
    out[5]["species"] = "setosa, probably"
    out[6]["count"] = None
    out[7]["sepal_length"] = -1.5e3
    out[8]["is_setosa"] = None
    return out


def csv_cell(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    text = repr(v) if isinstance(v, float) else str(v)
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def write_csv(path, data):
    cols = list(data[0])
    lines = [",".join(cols)] + [",".join(csv_cell(r[c]) for c in cols) for r in data]
    # CRLF between records, no break after the last one.
    path.write_bytes("\r\n".join(lines).encode("utf-8"))


def write_jsonl(path, data):
    lines = []
    for i, r in enumerate(data):
        row = dict(r)
        if i % 5 == 0:
            del row["note"]  # a key some lines lack
        lines.append(json.dumps(row))
    path.write_bytes(("\n".join(lines) + "\n\n").encode("utf-8"))


def parquet_table(data):
    table = pa.Table.from_pylist(data)
    n = len(data)
    base = datetime.datetime(2024, 1, 2, 3, 4, 5, 678000)
    stamps = [base + datetime.timedelta(hours=i) for i in range(n)]
    days = [datetime.date(2024, 1, 1) + datetime.timedelta(days=i) for i in range(n)]
    return (
        table.append_column("seen_at", pa.array(stamps, pa.timestamp("ms")))
        .append_column("day", pa.array(days, pa.date32()))
        .append_column("score", pa.array([math.nan if i == 9 else i / 4 for i in range(n)], pa.float64()))
    )


def js_value(v):
    if v is None:
        return None
    if isinstance(v, (pd.Timestamp, datetime.datetime)):
        ts = pd.Timestamp(v)
        return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"
    if isinstance(v, datetime.date):
        return v.isoformat() + "T00:00:00.000Z"
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if math.isnan(v) else float(v)
    return v


def expected(df, path):
    raw = path.read_bytes()
    return {
        "columns": [str(c) for c in df.columns],
        "rows": [{str(c): js_value(v) for c, v in zip(df.columns, row)} for row in df.itertuples(index=False)],
        "bytes": len(raw),
        "sha256": hashlib.sha256(raw).hexdigest(),
    }


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    data = rows()
    out = {}

    write_csv(OUT / "iris.csv", data)
    df = pd.read_csv(OUT / "iris.csv", keep_default_na=False, na_values=[""])
    df = df.astype(object).where(df.notna(), None)
    out["iris.csv"] = expected(df, OUT / "iris.csv")

    write_jsonl(OUT / "iris.jsonl", data)
    df = pd.read_json(OUT / "iris.jsonl", lines=True, dtype=False, precise_float=True)
    df = df.astype(object).where(df.notna(), None)
    out["iris.jsonl"] = expected(df, OUT / "iris.jsonl")

    table = parquet_table(data)
    for name, compression in (("iris.parquet", "snappy"), ("iris-zstd.parquet", "zstd")):
        # snappy is pyarrow's default; it is named here only to make the pairing plain.
        pq.write_table(table, OUT / name, compression=compression, row_group_size=16)
        df = pd.read_parquet(OUT / name)
        df = df.astype(object).where(df.notna(), None)
        out[name] = expected(df, OUT / name)
    assert pq.ParquetFile(OUT / "iris.parquet").metadata.row_group(0).column(0).compression == "SNAPPY"

    pq.write_table(pa.table({"id": pa.array([1, 2**60], pa.int64())}), OUT / "unsafe-int.parquet")
    # 64 kB of repeated text in about 1 kB: a budget between the two must stop it while decompressing.
    text = pa.array(["ab" * 4000] * 8)
    pq.write_table(pa.table({"text": text}), OUT / "compressible.parquet", use_dictionary=False)
    pq.write_table(pa.table({"tags": pa.array([[1, 2], [3]], pa.list_(pa.int64()))}), OUT / "nested.parquet")

    text = json.dumps(out, indent=1, sort_keys=True) + "\n"
    (OUT / "expected.json").write_text(text, encoding="utf-8")
    print(f"wrote {len(out)} expectations to {OUT / 'expected.json'}")


if __name__ == "__main__":
    main()
