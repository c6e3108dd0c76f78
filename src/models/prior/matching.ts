// Linear sum assignment, a line-by-line port of scipy's `rectangular_lsap.cpp`
// (scipy.optimize.linear_sum_assignment; BSD-3-Clause, author P. M. Larsen): the shortest
// augmenting path algorithm of D. F. Crouse, "On implementing 2D rectangular assignment
// algorithms", IEEE TAES 52(4), 2016, pp. 1685-1686.
//
// PRIOR's SPG loss matches 16 generated prototypes against zero-padded targets (spec §6.4), so the
// cost has identical columns and several optima. Which optimum comes back changes the faithful
// loss, so the port keeps everything that decides ties exactly as scipy has it: costs in float64,
// the reversed `remaining` worklist and its swap-with-last removal, the `<` / `== && unassigned`
// rule in the minimum search, the dual updates, the transpose of tall matrices and the final
// sort by row.

export interface Assignment {
  /** Row indices, increasing. */
  rowInd: Int32Array;
  /** colInd[k] is the column assigned to row rowInd[k]. */
  colInd: Int32Array;
}

/**
 * Solves min (or max) sum_k cost[rowInd[k], colInd[k]] over matchings of size min(nRows, nCols).
 * `cost` is row-major [nRows, nCols]. +Infinity marks a forbidden pair; NaN and -Infinity (and
 * +Infinity when maximizing) are rejected, as scipy does.
 */
export function linearSumAssignment(
  cost: Float64Array | Float32Array,
  nRows: number,
  nCols: number,
  maximize = false,
): Assignment {
  if (!Number.isInteger(nRows) || !Number.isInteger(nCols) || nRows < 0 || nCols < 0) {
    throw new Error(`linearSumAssignment: shape must be two non-negative integers, got [${nRows}, ${nCols}]`);
  }
  if (cost.length !== nRows * nCols) {
    throw new Error(
      `linearSumAssignment: cost has ${cost.length} entries but the shape [${nRows}, ${nCols}] needs ${nRows * nCols}`,
    );
  }
  if (nRows === 0 || nCols === 0) return { rowInd: new Int32Array(0), colInd: new Int32Array(0) };

  // Tall matrices are solved transposed: every row of the solved problem gets a column.
  const transpose = nCols < nRows;
  const nr = transpose ? nCols : nRows;
  const nc = transpose ? nRows : nCols;
  const c = new Float64Array(nr * nc);
  for (let i = 0; i < nRows; i++) {
    for (let j = 0; j < nCols; j++) {
      const x = maximize ? -cost[i * nCols + j]! : cost[i * nCols + j]!;
      if (Number.isNaN(x) || x === -Infinity) {
        throw new Error(
          `linearSumAssignment: matrix contains invalid numeric entries: cost[${i}, ${j}] = ${cost[i * nCols + j]}` +
            (maximize ? ' (maximize)' : ''),
        );
      }
      c[transpose ? j * nc + i : i * nc + j] = x;
    }
  }

  const col4row = solve(c, nr, nc);
  if (col4row === null) throw new Error(`linearSumAssignment: cost matrix is infeasible [${nRows}, ${nCols}]`);

  const rowInd = new Int32Array(nr);
  const colInd = new Int32Array(nr);
  if (transpose) {
    // col4row maps each original column to its original row; report in increasing row order.
    // Rows are distinct, so the sort has no ties.
    const order = Array.from({ length: nr }, (_, k) => k).sort((a, b) => col4row[a]! - col4row[b]!);
    for (let k = 0; k < nr; k++) {
      rowInd[k] = col4row[order[k]!]!;
      colInd[k] = order[k]!;
    }
  } else {
    for (let i = 0; i < nr; i++) {
      rowInd[i] = i;
      colInd[i] = col4row[i]!;
    }
  }
  return { rowInd, colInd };
}

/** scipy's `solve`: nr <= nc. Returns col4row, or null when no finite-cost matching exists. */
function solve(cost: Float64Array, nr: number, nc: number): Int32Array | null {
  const u = new Float64Array(nr);
  const v = new Float64Array(nc);
  const shortestPathCosts = new Float64Array(nc);
  const path = new Int32Array(nc).fill(-1);
  const col4row = new Int32Array(nr).fill(-1);
  const row4col = new Int32Array(nc).fill(-1);
  const SR = new Uint8Array(nr);
  const SC = new Uint8Array(nc);
  const remaining = new Int32Array(nc);

  for (let curRow = 0; curRow < nr; curRow++) {
    // ---- augmenting_path: Dijkstra from curRow over reduced costs until a free column.
    let minVal = 0;
    let numRemaining = nc;
    // Reverse order makes a constant cost matrix solve to the identity (scipy #11602).
    for (let it = 0; it < nc; it++) remaining[it] = nc - it - 1;
    SR.fill(0);
    SC.fill(0);
    shortestPathCosts.fill(Infinity);

    let i = curRow;
    let sink = -1;
    while (sink === -1) {
      let index = -1;
      let lowest = Infinity;
      SR[i] = 1;
      for (let it = 0; it < numRemaining; it++) {
        const j = remaining[it]!;
        const r = minVal + cost[i * nc + j]! - u[i]! - v[j]!;
        if (r < shortestPathCosts[j]!) {
          path[j] = i;
          shortestPathCosts[j] = r;
        }
        // Among equal minima prefer an unassigned column: it ends the search (a new sink).
        if (shortestPathCosts[j]! < lowest || (shortestPathCosts[j] === lowest && row4col[j] === -1)) {
          lowest = shortestPathCosts[j]!;
          index = it;
        }
      }
      minVal = lowest;
      if (minVal === Infinity) return null;
      const j = remaining[index]!;
      if (row4col[j] === -1) sink = j;
      else i = row4col[j]!;
      SC[j] = 1;
      remaining[index] = remaining[--numRemaining]!;
    }

    // ---- update dual variables
    u[curRow] = u[curRow]! + minVal;
    for (let r = 0; r < nr; r++) {
      if (SR[r] && r !== curRow) u[r] = u[r]! + minVal - shortestPathCosts[col4row[r]!]!;
    }
    for (let j = 0; j < nc; j++) {
      if (SC[j]) v[j] = v[j]! - (minVal - shortestPathCosts[j]!);
    }

    // ---- augment the previous solution along the path back to curRow
    let j = sink;
    for (;;) {
      const r = path[j]!;
      row4col[j] = r;
      const prev = col4row[r]!;
      col4row[r] = j;
      j = prev;
      if (r === curRow) break;
    }
  }
  return col4row;
}
