// Retrieval metrics over a score matrix [nQueries, nCandidates] (higher = better match):
// Precision@K and Recall@K, plus the two protocols the image-text papers report: CheXpert 5x200
// class retrieval (a hit is a candidate of the query's class) and instance retrieval (a hit is
// the query's own report text).
//
// Tie policy: candidates are ranked by score, descending; equal scores keep candidate-index order
// (a stable sort). Every run and machine therefore ranks the same way.

export type ScoreMatrix = ArrayLike<number>;

export interface RetrievalResult {
  /** K -> mean over queries of (relevant in the top K) / K. */
  precisionAtK: Record<number, number>;
  /** K -> mean over queries with at least one relevant candidate of (relevant in the top K) / (relevant). */
  recallAtK: Record<number, number>;
  nQueries: number;
  /** Queries with no relevant candidate: they count (as 0) in precision and are left out of recall. */
  nQueriesWithoutRelevant: number;
}

export const DEFAULT_KS: readonly number[] = [1, 5, 10];

/** Candidate indices of one query's row, best first, ties by index. */
export function rankCandidates(scores: ScoreMatrix, nCandidates: number, query: number): Int32Array {
  const base = query * nCandidates;
  const order = Int32Array.from({ length: nCandidates }, (_, j) => j);
  order.sort((a, b) => {
    const d = scores[base + b]! - scores[base + a]!;
    return d !== 0 ? d : a - b;
  });
  return order;
}

/** The first k entries of rankCandidates (same order), by insertion into a short sorted list: O(n k). */
export function topCandidates(scores: ScoreMatrix, nCandidates: number, query: number, k: number): Int32Array {
  const base = query * nCandidates;
  const size = Math.min(k, nCandidates);
  const top = new Int32Array(size);
  const topScore = new Float64Array(size);
  let filled = 0;
  for (let j = 0; j < nCandidates; j++) {
    const s = scores[base + j]!;
    // Candidates arrive in index order, so an equal score never displaces an earlier one.
    if (filled === size && !(s > topScore[size - 1]!)) continue;
    let pos = filled < size ? filled++ : size - 1;
    while (pos > 0 && s > topScore[pos - 1]!) {
      top[pos] = top[pos - 1]!;
      topScore[pos] = topScore[pos - 1]!;
      pos--;
    }
    top[pos] = j;
    topScore[pos] = s;
  }
  return top;
}

function checkScores(fn: string, scores: ScoreMatrix, nQueries: number, nCandidates: number): void {
  if (!Number.isInteger(nQueries) || !Number.isInteger(nCandidates) || nQueries < 0 || nCandidates < 1) {
    throw new Error(`${fn}: shape must be [nQueries >= 0, nCandidates >= 1], got [${nQueries}, ${nCandidates}]`);
  }
  if (scores.length !== nQueries * nCandidates) {
    throw new Error(`${fn}: scores has ${scores.length} entries, expected [${nQueries}, ${nCandidates}] = ${nQueries * nCandidates}`);
  }
  for (let i = 0; i < scores.length; i++) {
    if (Number.isNaN(scores[i]!)) {
      throw new Error(`${fn}: scores[${Math.floor(i / nCandidates)}, ${i % nCandidates}] is NaN`);
    }
  }
}

/**
 * Precision@K / Recall@K. `isRelevant(query, candidate)` decides hits; `nRelevant(query)` is the
 * number of relevant candidates of a query (the recall denominator). K larger than nCandidates
 * is allowed; precision still divides by K.
 */
export function retrievalAtK(
  scores: ScoreMatrix,
  nQueries: number,
  nCandidates: number,
  isRelevant: (query: number, candidate: number) => boolean,
  nRelevant: (query: number) => number,
  ks: readonly number[] = DEFAULT_KS,
): RetrievalResult {
  checkScores('retrievalAtK', scores, nQueries, nCandidates);
  if (ks.length === 0) throw new Error('retrievalAtK: no K given');
  for (const k of ks) if (!Number.isInteger(k) || k < 1) throw new Error(`retrievalAtK: K must be a positive integer, got ${k}`);
  const precisionSum = new Map<number, number>(ks.map((k) => [k, 0]));
  const recallSum = new Map<number, number>(ks.map((k) => [k, 0]));
  const maxK = Math.max(...ks);
  let withRelevant = 0;
  for (let q = 0; q < nQueries; q++) {
    const order = topCandidates(scores, nCandidates, q, maxK);
    const total = nRelevant(q);
    // hitsAt[k] = relevant among the first k ranked candidates.
    const hitsAt = new Int32Array(maxK + 1);
    for (let r = 0; r < maxK; r++) hitsAt[r + 1] = hitsAt[r]! + (r < order.length && isRelevant(q, order[r]!) ? 1 : 0);
    if (total > 0) withRelevant++;
    for (const k of ks) {
      precisionSum.set(k, precisionSum.get(k)! + hitsAt[k]! / k);
      if (total > 0) recallSum.set(k, recallSum.get(k)! + hitsAt[k]! / total);
    }
  }
  const precisionAtK: Record<number, number> = {};
  const recallAtK: Record<number, number> = {};
  for (const k of ks) {
    precisionAtK[k] = precisionSum.get(k)! / nQueries;
    recallAtK[k] = withRelevant === 0 ? NaN : recallSum.get(k)! / withRelevant;
  }
  return { precisionAtK, recallAtK, nQueries, nQueriesWithoutRelevant: nQueries - withRelevant };
}

/** Precision@K / Recall@K with explicit relevant-candidate lists, one per query. */
export function precisionRecallAtK(
  scores: ScoreMatrix,
  nQueries: number,
  nCandidates: number,
  relevant: readonly ArrayLike<number>[],
  ks: readonly number[] = DEFAULT_KS,
): RetrievalResult {
  if (relevant.length !== nQueries) throw new Error(`precisionRecallAtK: ${relevant.length} relevant lists for ${nQueries} queries`);
  const sets = relevant.map((list, q) => {
    const set = new Set<number>();
    for (let i = 0; i < list.length; i++) {
      const c = list[i]!;
      if (!Number.isInteger(c) || c < 0 || c >= nCandidates) {
        throw new Error(`precisionRecallAtK: relevant[${q}] holds ${c}, not a candidate index in [0, ${nCandidates})`);
      }
      set.add(c);
    }
    return set;
  });
  return retrievalAtK(scores, nQueries, nCandidates, (q, c) => sets[q]!.has(c), (q) => sets[q]!.size, ks);
}

/**
 * CheXpert 5x200 style class retrieval: each query (image) has a class, each candidate (text) has
 * a class; a hit is a candidate whose class equals the query's.
 */
export function classRetrieval(
  scores: ScoreMatrix,
  queryClass: ArrayLike<number>,
  candidateClass: ArrayLike<number>,
  ks: readonly number[] = DEFAULT_KS,
): RetrievalResult {
  const nQueries = queryClass.length;
  const nCandidates = candidateClass.length;
  const perClass = new Map<number, number>();
  for (let j = 0; j < nCandidates; j++) perClass.set(candidateClass[j]!, (perClass.get(candidateClass[j]!) ?? 0) + 1);
  return retrievalAtK(
    scores,
    nQueries,
    nCandidates,
    (q, c) => candidateClass[c] === queryClass[q],
    (q) => perClass.get(queryClass[q]!) ?? 0,
    ks,
  );
}

/**
 * Instance retrieval: a hit is a candidate text identical (after `normalise`, default none) to the
 * query image's own report text; duplicated reports all count as hits.
 */
export function instanceRetrieval(
  scores: ScoreMatrix,
  queryText: readonly string[],
  candidateText: readonly string[],
  ks: readonly number[] = DEFAULT_KS,
  normalise: (text: string) => string = (t) => t,
): RetrievalResult {
  const q = queryText.map(normalise);
  const c = candidateText.map(normalise);
  const count = new Map<string, number>();
  for (const t of c) count.set(t, (count.get(t) ?? 0) + 1);
  return retrievalAtK(
    scores,
    q.length,
    c.length,
    (qi, ci) => c[ci] === q[qi],
    (qi) => count.get(q[qi]!) ?? 0,
    ks,
  );
}
