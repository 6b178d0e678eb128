"""The catalog as codes, as every step of the trainer reads it: each item's category and availability, and the
category tree."""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass
class CodedCatalog:
    """The catalog as codes: per item its leaf category code (-1 unknown) and availability; the category tree."""

    category: np.ndarray  # int32 per item
    available: np.ndarray  # bool per item
    category_parent: np.ndarray  # int32 per category, -1 for a root

    @property
    def n_categories(self) -> int:
        return len(self.category_parent)

    def membership(self) -> sp.csr_matrix:
        """items x categories: 1 where the item is in the category or one of its children."""
        row_parts: list[np.ndarray] = []
        col_parts: list[np.ndarray] = []
        current = self.category.astype(np.int64)
        items = np.arange(len(current))
        for _ in range(64):  # deeper trees than this are cycles
            known = current >= 0
            if not known.any():
                break
            row_parts.append(items[known])
            col_parts.append(current[known])
            current = np.where(known, self.category_parent[np.maximum(current, 0)], -1)
        rows = np.concatenate(row_parts) if row_parts else np.zeros(0, np.int64)
        cols = np.concatenate(col_parts) if col_parts else np.zeros(0, np.int64)
        m = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(self.category), self.n_categories))
        m.data[:] = 1.0  # a cycle could have counted a category twice
        return m

    def leaf(self) -> sp.csr_matrix:
        """items x categories: 1 at the item's own category."""
        has = self.category >= 0
        rows = np.flatnonzero(has)
        return sp.csr_matrix(
            (np.ones(len(rows), np.float32), (rows, self.category[has])), shape=(len(self.category), self.n_categories)
        )
