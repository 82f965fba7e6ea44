"""The public data sets `tallyproof import-dataset` loads by name, each with the files it
reads, so a wrong directory or an unknown name is refused before anything is logged."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tallyproof.importers import pk2018, pk2024
from tallyproof.importers.plan import Plan
from tallyproof.importers.stations import MappingError


@dataclass(frozen=True)
class Dataset:
    """A data set: its name on the command line, the folder it is published in, the files
    read from it, and how its plan (structure, keys, signed documents) is built."""

    name: str
    folder: str
    files: tuple[str, ...]
    about: str
    build: Callable[[Path], Plan]


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            "pk-2024-form45-vs-47",
            "pk2024-na-form45-vs-form47",
            (pk2024.FILE,),
            "Pakistan 2024 National Assembly: the declared Form 47 totals and a party's "
            "Form 45 totals, winner and runner-up of 266 seats, as two declaring sources",
            pk2024.build,
        ),
        Dataset(
            "pk-2018",
            "pk2018-na-pa-candidates",
            pk2018.FILES,
            "Pakistan 2018 National and Provincial Assemblies: every candidate's votes and "
            "the ballot counts of 840 seats, as the returning officers' declared results",
            pk2018.build,
        ),
    )
}


class DatasetError(MappingError):
    """An unknown data set, or a directory without its files (refused as `mapping.invalid`)."""


def dataset(name: str) -> Dataset:
    """The named data set, or the refusal listing the known ones."""
    if name not in DATASETS:
        raise DatasetError(f"no data set {name!r}; known data sets: {', '.join(DATASETS)}")
    return DATASETS[name]


def locate(ds: Dataset, directory: Path) -> Path:
    """The directory holding the data set's files: `directory` itself, or its folder of the
    data set's published name (so the parent of several data sets will do)."""
    for candidate in (directory, directory / ds.folder):
        if all((candidate / f).is_file() for f in ds.files):
            return candidate
    if not directory.is_dir():
        raise DatasetError(f"--data {directory}: no such directory")
    missing = [f for f in ds.files if not (directory / f).is_file()]
    raise DatasetError(
        f"--data {directory}: {ds.name} reads {', '.join(ds.files)}; missing "
        f"{', '.join(missing)} (give the {ds.folder} directory, or the one holding it)"
    )
