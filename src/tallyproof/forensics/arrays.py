"""One contest's station-level numbers as aligned numpy arrays."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class StationArrays:
    """Station `i` has `registered[i]` voters, `issued[i]` ballots issued (the polled count
    where the form does not state it), `polled[i]` ballots in the boxes (valid + rejected),
    and `votes[i, k]` votes for candidate `k`."""

    station: np.ndarray
    region: np.ndarray
    registered: np.ndarray
    issued: np.ndarray
    polled: np.ndarray
    rejected: np.ndarray
    votes: np.ndarray
    candidates: tuple[str, ...]
    names: tuple[str, ...] = ()  # display names, aligned with `candidates` (ids)
    # each station's name as the data set gives it ("region / tik / uik"): what a reporter
    # looks up or calls about, where `station` holds the store's ids (S000008)
    station_names: np.ndarray | None = None
    leader: int = field(init=False)

    def __post_init__(self) -> None:
        totals = self.votes.sum(axis=0) if self.votes.size else np.zeros(len(self.candidates))
        object.__setattr__(self, "leader", int(np.argmax(totals)) if len(totals) else 0)

    @property
    def leader_name(self) -> str:
        names = self.names or self.candidates
        return names[self.leader] if names else ""

    @property
    def display_names(self) -> np.ndarray:
        """Each station's name, or its id where the arrays carry no names."""
        return self.station if self.station_names is None else self.station_names

    @property
    def size(self) -> int:
        return int(self.registered.size)

    @property
    def valid(self) -> np.ndarray:
        return self.votes.sum(axis=1)

    @property
    def turnout(self) -> np.ndarray:
        """Ballots issued over registered voters (NaN where nobody is registered)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.registered > 0, self.issued / self.registered, np.nan)

    def share(self, candidate: int | None = None) -> np.ndarray:
        """A candidate's votes (the leader's by default) over the ballots in the boxes."""
        k = self.leader if candidate is None else candidate
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.polled > 0, self.votes[:, k] / self.polled, np.nan)

    def subset(self, mask: np.ndarray) -> StationArrays:
        return StationArrays(
            self.station[mask],
            self.region[mask],
            self.registered[mask],
            self.issued[mask],
            self.polled[mask],
            self.rejected[mask],
            self.votes[mask],
            self.candidates,
            self.names,
            None if self.station_names is None else self.station_names[mask],
        )


def region_groups(region: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Each region's name and the indices of its stations (in station order), by name."""
    names, group = np.unique(region.astype(str), return_inverse=True)
    order = np.argsort(group, kind="stable")
    members = np.split(order, np.flatnonzero(np.diff(group[order])) + 1)
    return list(zip(names.tolist(), members, strict=False))
