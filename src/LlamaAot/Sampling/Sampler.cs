// Sampler: turns one decoding step's logits into a token id with llama.cpp's default chain
// (repeat penalty → top-k → top-p → min-p → temperature → seeded draw), allocation-free per token.
//
// Candidates are ranked by (logit descending, token id ascending). That strict total order makes every
// tie and cut-off reproducible, so the same seed and logits always give the same tokens. Nothing here
// sorts the vocabulary: top-k is a selection, min-p a threshold and top-p a weighted selection, because
// the draw only needs the surviving set, not its order.

using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace LlamaAot.Sampling;

/// <summary>
/// Picks the next token from a logits vector. One instance per generation stream: it owns scratch
/// buffers and an RNG, so it is not thread-safe.
/// </summary>
public sealed class Sampler
{
    // Up to this k, top-k streams the logits once past a k-entry heap: after the first few thousand
    // tokens almost every logit loses a single compare against the heap's weakest entry. Beyond it the
    // heap churns and an O(n) quickselect wins.
    private const int HeapSelectMaxK = 1024;

    private readonly SamplerOptions _options;
    private readonly Mt19937_64 _rng;

    // Indexed by token id: the logits after sanitising and the repeat penalty.
    private readonly float[] _logits;

    // Indexed by token id: exp(logit - max), the untempered softmax numerators top-p weighs with.
    private readonly float[] _weights;

    // Candidate token ids; after filtering, [0, count) are the survivors in draw order.
    private readonly int[] _ids;

    // Indexed by position in _ids: the tempered weights the draw walks.
    private readonly float[] _drawWeights;

    // Generation stamps for deduplicating the penalty window without clearing a vocab-sized set per token.
    private readonly int[] _seenStamp;
    private int _stamp;

    // Sum of _drawWeights over the survivors, kept between filtering and drawing.
    private double _totalWeight;

    public Sampler(int vocabSize, SamplerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(vocabSize);
        options.Validate();

        VocabSize = vocabSize;
        _options = options;
        _rng = new Mt19937_64(options.Seed);
        _logits = new float[vocabSize];
        _weights = new float[vocabSize];
        _ids = new int[vocabSize];
        _drawWeights = new float[vocabSize];
        _seenStamp = new int[vocabSize];
    }

    public int VocabSize { get; }

    public SamplerOptions Options => _options;

    /// <summary>Restarts the random stream from <see cref="SamplerOptions.Seed"/>, so a rerun repeats itself.</summary>
    public void Reset() => _rng.Seed(_options.Seed);

    /// <summary>
    /// Chooses the next token. <paramref name="history"/> is every token so far (prompt and generated);
    /// only its last <see cref="SamplerOptions.RepeatLastN"/> are penalised. With temperature above 0
    /// each call consumes exactly one random number (none if every logit is -inf), whatever the shape of
    /// the distribution, so two runs that see the same logits stay in step.
    /// </summary>
    public int Sample(ReadOnlySpan<float> logits, ReadOnlySpan<int> history)
    {
        int count = Filter(logits, history, out int decided);
        if (count == 0)
        {
            return decided;
        }

        float[] weights = _drawWeights;
        int[] ids = _ids;
        double target = _rng.NextDouble() * _totalWeight;
        double cumulative = 0;
        int lastPositive = ids[0];
        for (int i = 0; i < count; i++)
        {
            float w = weights[i];
            if (w > 0f)
            {
                cumulative += w;
                lastPositive = ids[i];
                if (target < cumulative)
                {
                    return ids[i];
                }
            }
        }

        // Only reachable when rounding makes target == total; the last token with any mass is the honest pick.
        return lastPositive;
    }

    /// <summary>
    /// The distribution <see cref="Sample"/> would draw from, without touching the RNG: writes the
    /// surviving ids in draw order with their normalised probabilities and returns how many there are.
    /// </summary>
    internal int Distribution(ReadOnlySpan<float> logits, ReadOnlySpan<int> history, Span<int> ids, Span<double> probabilities)
    {
        int count = Filter(logits, history, out int decided);
        if (count == 0)
        {
            ids[0] = decided;
            probabilities[0] = 1.0;
            return 1;
        }

        for (int i = 0; i < count; i++)
        {
            ids[i] = _ids[i];
            probabilities[i] = _drawWeights[i] / _totalWeight;
        }
        return count;
    }

    // Runs the chain up to and including temperature. Returns the number of survivors left in _ids with
    // their tempered weights in _drawWeights; returns 0 when the token is already decided (greedy, or
    // every logit is -inf) and reports it through `decided`.
    private int Filter(ReadOnlySpan<float> logits, ReadOnlySpan<int> history, out int decided)
    {
        if (logits.Length != VocabSize)
        {
            throw new ArgumentException($"Expected {VocabSize} logits, got {logits.Length}.", nameof(logits));
        }

        SamplerOptions o = _options;
        float[] keys = _logits;
        LoadLogits(logits, keys);
        if (o.RepeatPenalty != 1f && o.RepeatLastN != 0 && !history.IsEmpty)
        {
            ApplyRepeatPenalty(history);
        }

        if (o.Temperature <= 0f)
        {
            decided = Argmax(keys);
            return 0;
        }

        Span<int> ids = _ids;
        float[] weights = _weights;
        int vocab = VocabSize;
        // min-p in logit space: p >= min_p * p_max  ⇔  logit - max >= ln(min_p). Comparing logits keeps the
        // top token in even when min_p = 1, which exp rounding (exp(0) can come out as 1.0000001) might not.
        float logMinP = MathF.Log(o.MinP);
        double total;
        int count;
        float max;

        if (o.TopK > 0 && o.TopK < vocab)
        {
            int k = o.TopK;
            SelectTopK(keys, ids, k);
            int best = ids[0];
            for (int i = 1; i < k; i++)
            {
                if (RanksBefore(keys, ids[i], best))
                {
                    best = ids[i];
                }
            }
            max = keys[best];
            if (float.IsNegativeInfinity(max))
            {
                decided = best;
                return 0;
            }

            total = 0;
            count = 0;
            for (int i = 0; i < k; i++)
            {
                int id = ids[i];
                float shifted = keys[id] - max;
                float r = MathF.Exp(shifted);
                weights[id] = r;
                total += r;
                if (shifted >= logMinP)
                {
                    ids[count++] = id;
                }
            }
        }
        else
        {
            int best = Argmax(keys);
            max = keys[best];
            if (float.IsNegativeInfinity(max))
            {
                // Nothing has any probability mass; the top-ranked token is the only defensible answer.
                decided = best;
                return 0;
            }

            total = ExpShifted(keys, max, weights);
            count = CollectAtLeast(keys, max, logMinP, ids);
        }

        // Min-p ran before top-p above although the chain lists it after: both keep a prefix of the ranking
        // and p / p_max does not change under renormalisation, so the survivors are the shorter prefix
        // either way, and cutting by min-p first leaves top-p far fewer candidates to partition.
        // top-p's mass is still measured against every top-k survivor (`total`), as in the chain.
        if (o.TopP < 1f)
        {
            count = KeepNucleus(keys, weights, ids[..count], o.TopP * total);
        }

        // Temperature last, on the survivors only, exactly as llama.cpp's default order does.
        Span<float> draw = _drawWeights.AsSpan(0, count);
        float temperature = o.Temperature;
        for (int i = 0; i < draw.Length; i++)
        {
            draw[i] = (keys[ids[i]] - max) / temperature;
        }
        _totalWeight = ExpShifted(draw, 0f, draw);

        decided = -1;
        return count;
    }

    // Top-k as an unordered selection: afterwards ids[..k] are the k best-ranked token ids.
    private static void SelectTopK(float[] keys, Span<int> ids, int k)
    {
        if (k > HeapSelectMaxK)
        {
            for (int i = 0; i < keys.Length; i++)
            {
                ids[i] = i;
            }
            SelectBest(keys, ids, k);
            return;
        }

        // A heap with the weakest kept token at the root. Tokens arrive in id order, so a newcomer that
        // merely ties the root ranks after it (higher id) and a strict > is the whole admission test.
        Span<int> heap = ids[..k];
        for (int i = 0; i < k; i++)
        {
            heap[i] = i;
        }
        for (int i = (k >> 1) - 1; i >= 0; i--)
        {
            SiftDown(keys, heap, i, k);
        }

        float threshold = keys[heap[0]];
        int n = keys.Length;
        int next = k;
        if (Vector256.IsHardwareAccelerated)
        {
            ref float start = ref MemoryMarshal.GetArrayDataReference(keys);
            for (; next + Vector256<float>.Count <= n; next += Vector256<float>.Count)
            {
                Vector256<float> block = Vector256.LoadUnsafe(ref start, (nuint)next);
                if (!Vector256.GreaterThanAny(block, Vector256.Create(threshold)))
                {
                    continue;
                }
                for (int id = next; id < next + Vector256<float>.Count; id++)
                {
                    if (keys[id] > threshold)
                    {
                        heap[0] = id;
                        SiftDown(keys, heap, 0, k);
                        threshold = keys[heap[0]];
                    }
                }
            }
        }
        for (; next < n; next++)
        {
            if (keys[next] > threshold)
            {
                heap[0] = next;
                SiftDown(keys, heap, 0, k);
                threshold = keys[heap[0]];
            }
        }
    }

    // Top-p: moves the smallest set of best-ranked candidates whose mass reaches `targetMass` to the front
    // and returns its size (at least 1). That set is a prefix of the ranking, so a quickselect that weighs
    // each partition finds its boundary in O(n) expected time without sorting anything.
    // (Bucketing by logit first, as llama.cpp does before its sort, measured no faster on 32k vocabs.)
    private static int KeepNucleus(float[] keys, float[] weights, Span<int> ids, double targetMass)
    {
        int lo = 0;
        int hi = ids.Length - 1;
        double needed = targetMass;
        int budget = 2 * BitOperations.Log2((uint)ids.Length) + 4;
        while (lo < hi)
        {
            if (--budget < 0)
            {
                // Adversarial pivots: finish by ranking what is left and walking it.
                Span<int> rest = ids[lo..(hi + 1)];
                SortBest(keys, rest);
                for (int i = 0; i < rest.Length; i++)
                {
                    needed -= weights[rest[i]];
                    if (needed <= 0)
                    {
                        return lo + i + 1;
                    }
                }
                return hi + 1;
            }

            Partition(keys, ids, lo, hi, out int leftEnd, out int rightStart);

            double leftMass = 0;
            for (int x = lo; x <= leftEnd; x++)
            {
                leftMass += weights[ids[x]];
            }
            if (leftMass >= needed)
            {
                hi = leftEnd;
                continue;
            }
            needed -= leftMass;

            // With a strict order at most one element, the pivot, sits between the halves.
            if (leftEnd + 1 < rightStart)
            {
                needed -= weights[ids[leftEnd + 1]];
                if (needed <= 0)
                {
                    return leftEnd + 2;
                }
            }
            lo = rightStart;
        }

        // lo == hi: that element completes the nucleus. lo == hi + 1 only when rounding left the whole
        // range a hair short of the target, in which case all of it is kept.
        return Math.Min(lo, hi) + 1;
    }

    // Copies logits into the scratch buffer with NaN → -inf (never chosen) and +inf → MaxValue, so the
    // exp(logit - max) arithmetic never produces NaN. Non-finite logits are rare, so they are only
    // looked for with a vector scan and fixed up in a second pass when one turns up.
    private static void LoadLogits(ReadOnlySpan<float> logits, float[] dst)
    {
        logits.CopyTo(dst);

        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref float start = ref MemoryMarshal.GetArrayDataReference(dst);
            for (; i + Vector256<float>.Count <= dst.Length; i += Vector256<float>.Count)
            {
                // v - v is 0 for finite v and NaN for ±inf and NaN.
                Vector256<float> v = Vector256.LoadUnsafe(ref start, (nuint)i);
                if (!Vector256.EqualsAll(v - v, Vector256<float>.Zero))
                {
                    break;
                }
            }
        }
        for (; i < dst.Length; i++)
        {
            float v = dst[i];
            if (!float.IsFinite(v))
            {
                dst[i] = float.IsNaN(v) ? float.NegativeInfinity : (v > 0f ? float.MaxValue : v);
            }
        }
    }

    // llama.cpp's rule: each distinct token in the window is penalised once, dividing positive logits and
    // multiplying the rest, so a penalty above 1 always makes the token less likely.
    private void ApplyRepeatPenalty(ReadOnlySpan<int> history)
    {
        int lastN = _options.RepeatLastN;
        int windowLength = lastN < 0 ? history.Length : Math.Min(lastN, history.Length);
        ReadOnlySpan<int> window = history[(history.Length - windowLength)..];

        int stamp = NextStamp();
        int[] seen = _seenStamp;
        float[] logits = _logits;
        float penalty = _options.RepeatPenalty;
        for (int i = 0; i < window.Length; i++)
        {
            int token = window[i];
            if ((uint)token >= (uint)seen.Length)
            {
                ThrowTokenOutOfRange(token, seen.Length);
            }
            if (seen[token] == stamp)
            {
                continue;
            }
            seen[token] = stamp;
            float v = logits[token];
            logits[token] = v > 0f ? v / penalty : v * penalty;
        }
    }

    private int NextStamp()
    {
        if (_stamp == int.MaxValue)
        {
            Array.Clear(_seenStamp);
            _stamp = 0;
        }
        return ++_stamp;
    }

    // Lowest id among the largest values. Expects sanitised input (no NaN).
    private static int Argmax(float[] values)
    {
        float max = float.NegativeInfinity;
        int i = 0;
        if (Vector256.IsHardwareAccelerated && values.Length >= Vector256<float>.Count)
        {
            ref float start = ref MemoryMarshal.GetArrayDataReference(values);
            Vector256<float> best = Vector256.Create(float.NegativeInfinity);
            for (; i + Vector256<float>.Count <= values.Length; i += Vector256<float>.Count)
            {
                best = Vector256.Max(best, Vector256.LoadUnsafe(ref start, (nuint)i));
            }
            for (int lane = 0; lane < Vector256<float>.Count; lane++)
            {
                max = Math.Max(max, best[lane]);
            }
        }
        for (; i < values.Length; i++)
        {
            max = Math.Max(max, values[i]);
        }

        // == also matches -0 against +0, so such a tie goes to the lower id like any other.
        for (int id = 0; id < values.Length; id++)
        {
            if (values[id] == max)
            {
                return id;
            }
        }
        return 0;
    }

    // dst[i] = exp(src[i] - shift); returns the sum in double. src and dst may be the same span.
    private static double ExpShifted(ReadOnlySpan<float> src, float shift, Span<float> dst)
    {
        double sum = 0;
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref float from = ref MemoryMarshal.GetReference(src);
            ref float to = ref MemoryMarshal.GetReference(dst);
            Vector256<float> shiftV = Vector256.Create(shift);
            Vector256<double> acc = Vector256<double>.Zero;
            for (; i + Vector256<float>.Count <= src.Length; i += Vector256<float>.Count)
            {
                Vector256<float> e = Vector256.Exp(Vector256.LoadUnsafe(ref from, (nuint)i) - shiftV);
                e.StoreUnsafe(ref to, (nuint)i);
                (Vector256<double> lower, Vector256<double> upper) = Vector256.Widen(e);
                acc += lower + upper;
            }
            sum = Vector256.Sum(acc);
        }
        for (; i < src.Length; i++)
        {
            float e = MathF.Exp(src[i] - shift);
            dst[i] = e;
            sum += e;
        }
        return sum;
    }

    // Writes the ids whose logit - max >= threshold to ids, in id order; returns how many.
    private static int CollectAtLeast(float[] keys, float max, float threshold, Span<int> ids)
    {
        int count = 0;
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref float start = ref MemoryMarshal.GetArrayDataReference(keys);
            Vector256<float> maxV = Vector256.Create(max);
            Vector256<float> thresholdV = Vector256.Create(threshold);
            for (; i + Vector256<float>.Count <= keys.Length; i += Vector256<float>.Count)
            {
                Vector256<float> shifted = Vector256.LoadUnsafe(ref start, (nuint)i) - maxV;
                uint mask = Vector256.GreaterThanOrEqual(shifted, thresholdV).ExtractMostSignificantBits();
                while (mask != 0)
                {
                    ids[count++] = i + BitOperations.TrailingZeroCount(mask);
                    mask &= mask - 1;
                }
            }
        }
        for (; i < keys.Length; i++)
        {
            if (keys[i] - max >= threshold)
            {
                ids[count++] = i;
            }
        }
        return count;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool RanksBefore(float[] keys, int a, int b)
    {
        float ka = keys[a];
        float kb = keys[b];
        return ka > kb || (ka == kb && a < b);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Swap(Span<int> ids, int i, int j) => (ids[i], ids[j]) = (ids[j], ids[i]);

    // nth_element: afterwards ids[..count] hold the `count` best-ranked candidates, in no particular order.
    // Hoare/Wirth quickselect, O(n) on average; a depth budget falls back to a heap sort of the remaining
    // range so adversarial inputs stay O(n log n).
    private static void SelectBest(float[] keys, Span<int> ids, int count)
    {
        if (count <= 0 || count >= ids.Length)
        {
            return;
        }

        int k = count - 1;
        int lo = 0;
        int hi = ids.Length - 1;
        int budget = 2 * BitOperations.Log2((uint)ids.Length) + 4;
        while (lo < hi)
        {
            if (--budget < 0)
            {
                SortBest(keys, ids[lo..(hi + 1)]);
                return;
            }

            Partition(keys, ids, lo, hi, out int leftEnd, out int rightStart);
            if (leftEnd < k)
            {
                lo = rightStart;
            }
            if (k < rightStart)
            {
                hi = leftEnd;
            }
        }
    }

    // Hoare partition of ids[lo..hi] around a median-of-three pivot. Afterwards [lo..leftEnd] rank before
    // the pivot, [rightStart..hi] after it, and anything strictly between is the pivot itself.
    private static void Partition(float[] keys, Span<int> ids, int lo, int hi, out int leftEnd, out int rightStart)
    {
        int mid = lo + ((hi - lo) >> 1);
        if (RanksBefore(keys, ids[mid], ids[lo]))
        {
            Swap(ids, mid, lo);
        }
        if (RanksBefore(keys, ids[hi], ids[lo]))
        {
            Swap(ids, hi, lo);
        }
        if (RanksBefore(keys, ids[hi], ids[mid]))
        {
            Swap(ids, hi, mid);
        }

        int pivot = ids[mid];
        int i = lo;
        int j = hi;
        do
        {
            while (RanksBefore(keys, ids[i], pivot))
            {
                i++;
            }
            while (RanksBefore(keys, pivot, ids[j]))
            {
                j--;
            }
            if (i <= j)
            {
                Swap(ids, i, j);
                i++;
                j--;
            }
        }
        while (i <= j);

        leftEnd = j;
        rightStart = i;
    }

    // Heap sort into ranking order (best first): fixed O(n log n), no recursion, only the quickselect's
    // fallback. The heap keeps the weakest candidate at the root, so each extraction parks it at the end.
    private static void SortBest(float[] keys, Span<int> ids)
    {
        int n = ids.Length;
        for (int i = (n >> 1) - 1; i >= 0; i--)
        {
            SiftDown(keys, ids, i, n);
        }
        for (int end = n - 1; end > 0; end--)
        {
            Swap(ids, 0, end);
            SiftDown(keys, ids, 0, end);
        }
    }

    // Restores "the root is the weakest" below position i of a heap of n entries.
    private static void SiftDown(float[] keys, Span<int> ids, int i, int n)
    {
        int item = ids[i];
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= n)
            {
                break;
            }
            if (child + 1 < n && RanksBefore(keys, ids[child], ids[child + 1]))
            {
                child++;
            }
            if (!RanksBefore(keys, item, ids[child]))
            {
                break;
            }
            ids[i] = ids[child];
            i = child;
        }
        ids[i] = item;
    }

    private static void ThrowTokenOutOfRange(int token, int vocabSize) =>
        throw new ArgumentOutOfRangeException(
            "history", token, $"Token id {token} in the history is outside the vocabulary [0, {vocabSize}).");
}
