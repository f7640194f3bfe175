"""The Spark engine: wfmine's kernels on Apache Spark over a Parquet lake (work in progress)."""
