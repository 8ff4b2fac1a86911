"""File formats shared by the services: canonical table Parquet (``tables``), scikit-learn
estimators as skops archives (``skops_archive``), NumPy arrays as Arrow tensors (``tensors``)
and the prediction log's Parquet files (``predictions``, read back by ``prediction_reader``).

The modules sit below the sibling services, which meet here instead of importing each other.
pandas, pyarrow and skops are imported inside functions: importing a format stays light.
"""

__all__: list[str] = []
