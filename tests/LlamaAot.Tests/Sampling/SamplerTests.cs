// Tests for the token sampler: greedy and tie rules, the repeat-penalty rule, what top-k/top-p/min-p cut
// (checked both empirically by drawing and exactly against a naive sort-everything reference), seeding,
// option validation, the per-call allocation budget, and the Mersenne Twister's known-answer values.

using LlamaAot.Sampling;
using Xunit;

namespace LlamaAot.Tests.Sampling;

public sealed class SamplerTests
{
    private static readonly int[] NoHistory = [];

    // Probabilities used by the empirical tests; logits are their logs so softmax gives them back exactly.
    private static readonly double[] Peaked = [0.5, 0.3, 0.15, 0.05];

    private static float[] LogitsOf(double[] probabilities)
    {
        var logits = new float[probabilities.Length];
        for (int i = 0; i < logits.Length; i++)
        {
            logits[i] = (float)Math.Log(probabilities[i]);
        }
        return logits;
    }

    private static SamplerOptions Plain(float temperature = 1f) =>
        new() { Temperature = temperature, TopK = 0, TopP = 1f, MinP = 0f, RepeatPenalty = 1f, Seed = 7 };

    private static double[] Frequencies(Sampler sampler, float[] logits, int draws)
    {
        var counts = new int[logits.Length];
        for (int i = 0; i < draws; i++)
        {
            counts[sampler.Sample(logits, NoHistory)]++;
        }
        var freq = new double[logits.Length];
        for (int i = 0; i < freq.Length; i++)
        {
            freq[i] = counts[i] / (double)draws;
        }
        return freq;
    }

    // Every token with expected probability 0 must never appear; the others must be within `tolerance`.
    private static void AssertFrequencies(double[] expected, double[] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            if (expected[i] == 0)
            {
                Assert.True(actual[i] == 0, $"token {i} was excluded but drawn with frequency {actual[i]}");
            }
            else
            {
                Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance,
                    $"token {i}: expected {expected[i]:F4}, drew {actual[i]:F4}");
            }
        }
    }

    private static double[] Normalise(params double[] weights)
    {
        double sum = weights.Sum();
        return weights.Select(w => w / sum).ToArray();
    }

    // ---- greedy ----

    [Fact]
    public void Greedy_PicksArgmax()
    {
        var sampler = new Sampler(6, Plain(0f));
        Assert.Equal(3, sampler.Sample([0.1f, -2f, 1.5f, 4f, 3.9f, -7f], NoHistory));
        Assert.Equal(0, sampler.Sample([9f, -2f, 1.5f, 4f, 3.9f, -7f], NoHistory));
        Assert.Equal(5, sampler.Sample([-9f, -2f, -1.5f, -4f, -3.9f, -1f], NoHistory));
    }

    [Fact]
    public void Greedy_TieGoesToLowestId()
    {
        var sampler = new Sampler(6, Plain(0f));
        Assert.Equal(2, sampler.Sample([1f, 0f, 5f, 5f, 2f, 5f], NoHistory));
        Assert.Equal(0, sampler.Sample([3f, 3f, 3f, 3f, 3f, 3f], NoHistory));
    }

    [Fact]
    public void Greedy_NaNNeverWins_AllNegativeInfinityGivesLowestId()
    {
        var sampler = new Sampler(4, Plain(0f));
        Assert.Equal(3, sampler.Sample([float.NaN, 1f, float.NaN, 2f], NoHistory));
        Assert.Equal(1, sampler.Sample([float.NegativeInfinity, 1f, 1f, float.NaN], NoHistory));
        Assert.Equal(0, sampler.Sample(
            [float.NegativeInfinity, float.NegativeInfinity, float.NegativeInfinity, float.NegativeInfinity], NoHistory));
    }

    [Theory]
    [InlineData(0.1f)]
    [InlineData(0.8f)]
    [InlineData(1f)]
    [InlineData(5f)]
    [InlineData(100f)]
    public void TopK1_EqualsGreedy_AtAnyTemperature(float temperature)
    {
        const int vocab = 300;
        var rng = new Random(123);
        var greedy = new Sampler(vocab, Plain(0f));
        var topK1 = new Sampler(vocab, Plain(temperature) with { TopK = 1, TopP = 0.9f, MinP = 0.05f });
        var logits = new float[vocab];
        for (int step = 0; step < 200; step++)
        {
            for (int i = 0; i < vocab; i++)
            {
                // Coarse values so ties at the top are common and the lowest-id rule is exercised.
                logits[i] = MathF.Round((float)(rng.NextDouble() * 4 - 2), 1);
            }
            Assert.Equal(greedy.Sample(logits, NoHistory), topK1.Sample(logits, NoHistory));
        }
    }

    // ---- repeat penalty ----

    [Fact]
    public void RepeatPenalty_ChangesArgmax_ForPositiveLogits()
    {
        float[] logits = [2.0f, 1.9f, 0.5f];
        var off = new Sampler(3, Plain(0f));
        var on = new Sampler(3, Plain(0f) with { RepeatPenalty = 1.5f });
        Assert.Equal(0, off.Sample(logits, [0]));
        Assert.Equal(1, on.Sample(logits, [0]));   // 2.0 / 1.5 = 1.33 < 1.9
        Assert.Equal(0, on.Sample(logits, [2]));   // penalising an unrelated token changes nothing
    }

    [Fact]
    public void RepeatPenalty_MultipliesNonPositiveLogits()
    {
        // Dividing -1.0 would raise it to -0.67 and keep token 0 on top; llama.cpp multiplies instead.
        float[] logits = [-1.0f, -1.2f, -3f];
        var on = new Sampler(3, Plain(0f) with { RepeatPenalty = 1.5f });
        Assert.Equal(1, on.Sample(logits, [0]));   // -1.0 * 1.5 = -1.5 < -1.2

        // A logit of exactly 0 counts as non-positive: 0 * p stays 0, so it ties and the lower id wins.
        var zero = new Sampler(2, Plain(0f) with { RepeatPenalty = 1.5f });
        Assert.Equal(0, zero.Sample([0f, 0f], [0]));
    }

    [Fact]
    public void RepeatPenalty_BelowOne_RewardsRepeats()
    {
        var sampler = new Sampler(2, Plain(0f) with { RepeatPenalty = 0.5f });
        Assert.Equal(1, sampler.Sample([1.0f, 0.6f], [1]));   // 0.6 / 0.5 = 1.2 > 1.0
    }

    [Fact]
    public void RepeatPenalty_EachDistinctTokenPenalisedOnce()
    {
        // Once: 2.0 / 1.5 = 1.33 > 1.0. Compounded three times it would be 0.59 < 1.0.
        var sampler = new Sampler(2, Plain(0f) with { RepeatPenalty = 1.5f });
        Assert.Equal(0, sampler.Sample([2.0f, 1.0f], [0, 0, 0]));
    }

    [Fact]
    public void RepeatPenalty_OnlyLooksAtLastN()
    {
        float[] logits = [2.0f, 1.9f, 0f, 0f];
        var lastTwo = new Sampler(4, Plain(0f) with { RepeatPenalty = 1.5f, RepeatLastN = 2 });
        Assert.Equal(0, lastTwo.Sample(logits, [0, 2, 3]));   // token 0 is outside the window
        Assert.Equal(1, lastTwo.Sample(logits, [2, 0, 3]));   // now it is inside

        var whole = new Sampler(4, Plain(0f) with { RepeatPenalty = 1.5f, RepeatLastN = -1 });
        Assert.Equal(1, whole.Sample(logits, [0, 2, 3, 2, 3, 2, 3]));

        var disabled = new Sampler(4, Plain(0f) with { RepeatPenalty = 1.5f, RepeatLastN = 0 });
        Assert.Equal(0, disabled.Sample(logits, [0, 0, 0]));
    }

    [Fact]
    public void RepeatPenalty_AppliesBeforeFilteringWhenSampling()
    {
        // top-k = 1 makes sampling deterministic; the penalty must already have demoted token 0.
        var sampler = new Sampler(3, Plain(1f) with { TopK = 1, RepeatPenalty = 1.5f });
        Assert.Equal(1, sampler.Sample([2.0f, 1.9f, 0.5f], [0]));
    }

    [Fact]
    public void RepeatPenalty_RejectsHistoryTokensOutsideVocab()
    {
        var sampler = new Sampler(3, Plain(0f) with { RepeatPenalty = 1.1f });
        Assert.Throws<ArgumentOutOfRangeException>(() => sampler.Sample([1f, 2f, 3f], [0, 3]));
        Assert.Throws<ArgumentOutOfRangeException>(() => sampler.Sample([1f, 2f, 3f], [-1]));
    }

    // ---- top-k / top-p / min-p / temperature, by drawing ----

    [Fact]
    public void NoFilters_DrawsTheSoftmax()
    {
        var sampler = new Sampler(4, Plain());
        AssertFrequencies(Peaked, Frequencies(sampler, LogitsOf(Peaked), 20_000), 0.015);
    }

    [Fact]
    public void TopK_KeepsKLargest_TiesToLowerIds()
    {
        var sampler = new Sampler(5, Plain() with { TopK = 2 });
        var freq = Frequencies(sampler, [1f, 3f, 3f, 3f, 0f], 20_000);
        AssertFrequencies([0, 0.5, 0.5, 0, 0], freq, 0.015);
    }

    [Fact]
    public void TopP_ExcludesTail_AndRenormalises()
    {
        // Cumulative 0.5, 0.8, ...: p = 0.75 keeps the first two.
        var sampler = new Sampler(4, Plain() with { TopP = 0.75f });
        AssertFrequencies([0.625, 0.375, 0, 0], Frequencies(sampler, LogitsOf(Peaked), 20_000), 0.015);
    }

    [Fact]
    public void TopP_KeepsAtLeastOneToken()
    {
        var sampler = new Sampler(4, Plain() with { TopP = 0.01f });
        AssertFrequencies([1, 0, 0, 0], Frequencies(sampler, LogitsOf(Peaked), 2_000), 0);
    }

    [Fact]
    public void TopP_IsComputedOnTopKSurvivors()
    {
        // On the full vocab the top token has 0.5 < 0.6, so p = 0.6 would keep two. After top-k = 2 the
        // survivors renormalise to 0.625 / 0.375, and 0.625 >= 0.6 keeps only token 0.
        var sampler = new Sampler(4, Plain() with { TopK = 2, TopP = 0.6f });
        AssertFrequencies([1, 0, 0, 0], Frequencies(sampler, LogitsOf(Peaked), 2_000), 0);
    }

    [Fact]
    public void TopP_LargeNucleusOverManyTies_KeepsLowestIds()
    {
        // 300 equal leaders (p = 1/384.6 each) over 1700 tokens at -3: p = 0.5 needs 193 leaders, which
        // forces the nucleus boundary into the middle of a tie, which must resolve to ids 0..192.
        const int vocab = 2000;
        var logits = new float[vocab];
        for (int i = 300; i < vocab; i++)
        {
            logits[i] = -3f;
        }
        var sampler = new Sampler(vocab, Plain() with { TopP = 0.5f });
        var freq = Frequencies(sampler, logits, 20_000);
        for (int i = 0; i < vocab; i++)
        {
            if (i < 193)
            {
                Assert.InRange(freq[i], 1.0 / 193 - 0.003, 1.0 / 193 + 0.003);
            }
            else
            {
                Assert.True(freq[i] == 0, $"token {i} is outside the nucleus but was drawn");
            }
        }
    }

    [Fact]
    public void MinP_ExcludesBelowThreshold_AndRenormalises()
    {
        // p_max = 0.5, min-p 0.2 → threshold 0.1: 0.05 goes, 0.15 stays.
        var sampler = new Sampler(4, Plain() with { MinP = 0.2f });
        AssertFrequencies(Normalise(0.5, 0.3, 0.15, 0), Frequencies(sampler, LogitsOf(Peaked), 20_000), 0.015);
    }

    [Fact]
    public void TopPAndMinP_KeepTheShorterCut()
    {
        // top-p 0.96 keeps all four; min-p 0.5 → threshold 0.25 keeps two.
        var a = new Sampler(4, Plain() with { TopP = 0.96f, MinP = 0.5f });
        AssertFrequencies(Normalise(0.5, 0.3, 0, 0), Frequencies(a, LogitsOf(Peaked), 20_000), 0.015);

        // top-p 0.4 keeps one; min-p 0.1 alone would keep three.
        var b = new Sampler(4, Plain() with { TopP = 0.4f, MinP = 0.1f });
        AssertFrequencies([1, 0, 0, 0], Frequencies(b, LogitsOf(Peaked), 2_000), 0);
    }

    [Fact]
    public void MinP_OnLargeUnsortedVocab_NeverDrawsTheTail()
    {
        // Three peaked tokens in a 32k vocab: min-p 0.05 must cut the 32k-token tail entirely.
        const int vocab = 32_000;
        var logits = new float[vocab];
        Array.Fill(logits, -10f);
        logits[31_000] = 0f;
        logits[17] = MathF.Log(0.6f);
        logits[12_345] = MathF.Log(0.2f);
        var sampler = new Sampler(vocab, Plain() with { MinP = 0.05f, TopK = 0 });
        var freq = Frequencies(sampler, logits, 5_000);
        var expected = new double[vocab];
        double[] kept = Normalise(1.0, 0.6, 0.2);
        expected[31_000] = kept[0];
        expected[17] = kept[1];
        expected[12_345] = kept[2];
        AssertFrequencies(expected, freq, 0.03);
    }

    [Fact]
    public void Temperature_ReshapesTheDistribution()
    {
        var sampler = new Sampler(4, Plain(2f));
        double[] expected = Normalise(Peaked.Select(p => Math.Pow(p, 1 / 2.0)).ToArray());
        AssertFrequencies(expected, Frequencies(sampler, LogitsOf(Peaked), 20_000), 0.015);
    }

    [Fact]
    public void Temperature_IsAppliedAfterTopP()
    {
        // At T = 5 the tempered distribution is nearly flat; had temperature come first, top-p 0.75
        // would have kept three tokens. It comes last, so the nucleus is still {0, 1}.
        var sampler = new Sampler(4, Plain(5f) with { TopP = 0.75f });
        double[] expected = Normalise(Math.Pow(0.5, 0.2), Math.Pow(0.3, 0.2), 0, 0);
        AssertFrequencies(expected, Frequencies(sampler, LogitsOf(Peaked), 20_000), 0.015);
    }

    [Fact]
    public void AllNegativeInfinity_ReturnsLowestIdInsteadOfNaN()
    {
        var sampler = new Sampler(3, Plain());
        Assert.Equal(0, sampler.Sample([float.NegativeInfinity, float.NegativeInfinity, float.NegativeInfinity], NoHistory));
        Assert.Equal(2, sampler.Sample([float.NaN, float.NegativeInfinity, 0f], NoHistory));
    }

    [Fact]
    public void NonFiniteLogits_NaNNeverDrawn_PositiveInfinityAlwaysWins()
    {
        var sampler = new Sampler(4, Plain());
        for (int i = 0; i < 200; i++)
        {
            Assert.Equal(2, sampler.Sample([float.NaN, 0f, float.PositiveInfinity, 5f], NoHistory));
        }

        // NaN inside a full SIMD block and in the scalar tail: flat otherwise, so it would show up.
        const int vocab = 21;
        var logits = new float[vocab];
        logits[3] = float.NaN;
        logits[20] = float.NaN;
        var flat = new Sampler(vocab, Plain());
        double[] freq = Frequencies(flat, logits, 5_000);
        Assert.Equal(0, freq[3]);
        Assert.Equal(0, freq[20]);
        Assert.True(freq.Count(f => f > 0) == vocab - 2, "every finite token should be drawn sometimes");

        // Top-k and top-p must rank NaN below everything too, not just leave it out of the draw.
        var ids = new int[vocab];
        var probs = new double[vocab];
        int n = new Sampler(vocab, Plain() with { TopK = 5 }).Distribution(logits, NoHistory, ids, probs);
        Assert.Equal([0, 1, 2, 4, 5], ids[..n].Order());
        Assert.All(probs[..n], p => Assert.Equal(0.2, p, 1e-6));

        n = new Sampler(vocab, Plain() with { TopP = 0.99f }).Distribution(logits, NoHistory, ids, probs);
        Assert.Equal(Enumerable.Range(0, vocab).Where(i => i != 3 && i != 20), ids[..n].Order());
        Assert.All(probs[..n], p => Assert.Equal(1.0 / (vocab - 2), p, 1e-6));
    }

    // ---- exact check against a naive reference chain ----

    [Fact]
    public void Distribution_MatchesNaiveReference_OnRandomCases()
    {
        var rng = new Random(2024);
        int[] vocabs = [1, 2, 7, 33, 64, 300, 1001, 5000];
        int[] ks = [0, 1, 2, 5, 40, 63, 64, 65, 1000, 1024, 1025, 2000, 4999, 100_000];
        float[] ps = [1f, 0.99f, 0.95f, 0.7f, 0.3f, 0.05f];
        float[] minPs = [0f, 0.01f, 0.05f, 0.3f, 1f];
        float[] temps = [0f, 0.3f, 0.8f, 1f, 2.5f];
        float[] penalties = [1f, 1.1f, 1.5f, 0.7f];
        int[] lastNs = [-1, 0, 1, 8, 64];

        for (int c = 0; c < 600; c++)
        {
            int vocab = vocabs[rng.Next(vocabs.Length)];
            var options = new SamplerOptions
            {
                TopK = ks[rng.Next(ks.Length)],
                TopP = ps[rng.Next(ps.Length)],
                MinP = minPs[rng.Next(minPs.Length)],
                Temperature = temps[rng.Next(temps.Length)],
                RepeatPenalty = penalties[rng.Next(penalties.Length)],
                RepeatLastN = lastNs[rng.Next(lastNs.Length)],
            };

            var logits = new float[vocab];
            int shape = rng.Next(3);
            for (int i = 0; i < vocab; i++)
            {
                logits[i] = shape switch
                {
                    0 => (float)(rng.NextDouble() * 20 - 10),                 // spread out
                    1 => MathF.Round((float)(rng.NextDouble() * 4 - 2), 1),   // many exact ties
                    _ => (float)(rng.NextDouble() * 0.5),                      // nearly flat: big nucleus
                };
            }
            var history = new int[rng.Next(0, 100)];
            for (int i = 0; i < history.Length; i++)
            {
                history[i] = rng.Next(vocab);
            }

            var sampler = new Sampler(vocab, options);
            var ids = new int[vocab];
            var probs = new double[vocab];
            int n = sampler.Distribution(logits, history, ids, probs);
            var actual = new Dictionary<int, double>();
            for (int i = 0; i < n; i++)
            {
                actual.Add(ids[i], probs[i]);
            }

            Dictionary<int, double> expected = ReferenceDistribution(logits, history, options);
            string where = $"case {c}: vocab={vocab} {options}";
            Assert.True(expected.Count == actual.Count,
                $"{where}: expected {expected.Count} survivors, got {actual.Count}");
            foreach ((int id, double p) in expected)
            {
                Assert.True(actual.TryGetValue(id, out double q), $"{where}: token {id} missing");
                Assert.True(Math.Abs(p - q) <= 1e-5 + 1e-4 * p, $"{where}: token {id} p={p} got {q}");
            }
        }
    }

    // The chain written the obvious way: sort everything, cut, renormalise, in llama.cpp's order.
    private static Dictionary<int, double> ReferenceDistribution(float[] raw, int[] history, SamplerOptions o)
    {
        int vocab = raw.Length;
        var logits = (float[])raw.Clone();
        if (o.RepeatPenalty != 1f && o.RepeatLastN != 0)
        {
            int n = o.RepeatLastN < 0 ? history.Length : Math.Min(o.RepeatLastN, history.Length);
            foreach (int t in history.Skip(history.Length - n).Distinct())
            {
                logits[t] = logits[t] > 0 ? logits[t] / o.RepeatPenalty : logits[t] * o.RepeatPenalty;
            }
        }

        List<int> order = Enumerable.Range(0, vocab)
            .OrderByDescending(i => logits[i]).ThenBy(i => i).ToList();

        if (o.Temperature <= 0)
        {
            return new Dictionary<int, double> { [order[0]] = 1.0 };
        }

        if (o.TopK > 0 && o.TopK < vocab)
        {
            order = order.Take(o.TopK).ToList();
        }

        double[] Softmax(List<int> ids, double temperature)
        {
            double max = logits[ids[0]];
            double[] e = ids.Select(i => Math.Exp((logits[i] - max) / temperature)).ToArray();
            double sum = e.Sum();
            return e.Select(x => x / sum).ToArray();
        }

        if (o.TopP < 1f)
        {
            double[] p = Softmax(order, 1);
            double cum = 0;
            int keep = order.Count;
            for (int i = 0; i < order.Count; i++)
            {
                cum += p[i];
                if (cum >= o.TopP)
                {
                    keep = i + 1;
                    break;
                }
            }
            order = order.Take(keep).ToList();
        }

        if (o.MinP > 0f)
        {
            double[] p = Softmax(order, 1);
            double threshold = o.MinP * p[0];
            order = order.Where((_, i) => p[i] >= threshold).ToList();
        }

        double[] final = Softmax(order, o.Temperature);
        var result = new Dictionary<int, double>();
        for (int i = 0; i < order.Count; i++)
        {
            result.Add(order[i], final[i]);
        }
        return result;
    }

    // ---- seeding ----

    private static int[] Draw(Sampler sampler, int count, int vocab, int logitsSeed)
    {
        var rng = new Random(logitsSeed);
        var logits = new float[vocab];
        var history = new List<int>();
        var tokens = new int[count];
        for (int step = 0; step < count; step++)
        {
            for (int i = 0; i < vocab; i++)
            {
                logits[i] = (float)(rng.NextDouble() * 6);
            }
            tokens[step] = sampler.Sample(logits, history.ToArray());
            history.Add(tokens[step]);
        }
        return tokens;
    }

    private static SamplerOptions Seeded(ulong seed) =>
        new() { Seed = seed, Temperature = 1f, TopK = 50, TopP = 0.95f, MinP = 0.01f, RepeatPenalty = 1.1f };

    [Fact]
    public void SameSeed_SameSequence()
    {
        int[] a = Draw(new Sampler(1000, Seeded(99)), 200, 1000, logitsSeed: 5);
        int[] b = Draw(new Sampler(1000, Seeded(99)), 200, 1000, logitsSeed: 5);
        Assert.Equal(a, b);
        Assert.True(a.Distinct().Count() > 20, "the sequence should actually be random, not constant");
    }

    [Fact]
    public void DifferentSeeds_DifferentSequences()
    {
        int[] a = Draw(new Sampler(1000, Seeded(1)), 200, 1000, logitsSeed: 5);
        int[] b = Draw(new Sampler(1000, Seeded(2)), 200, 1000, logitsSeed: 5);
        int[] c = Draw(new Sampler(1000, Seeded(1UL | (1UL << 40))), 200, 1000, logitsSeed: 5);
        Assert.NotEqual(a, b);
        Assert.NotEqual(a, c);   // the high 32 bits of the seed matter too
        int same = a.Zip(b).Count(pair => pair.First == pair.Second);
        Assert.True(same < 100, $"{same}/200 positions agree; the streams look correlated");
    }

    [Fact]
    public void Reset_ReplaysTheSequence()
    {
        var sampler = new Sampler(1000, Seeded(31337));
        int[] first = Draw(sampler, 200, 1000, logitsSeed: 8);
        int[] notReset = Draw(sampler, 200, 1000, logitsSeed: 8);
        sampler.Reset();
        int[] again = Draw(sampler, 200, 1000, logitsSeed: 8);
        Assert.Equal(first, again);
        Assert.NotEqual(first, notReset);
    }

    [Fact]
    public void Mt19937_64_MatchesTheCppStandard()
    {
        // std::mt19937_64 default-seeded: first output, and the 10000th output mandated by [rand.predef].
        var rng = new Mt19937_64();
        Assert.Equal(14514284786278117030UL, rng.NextUInt64());
        for (int i = 2; i < 10000; i++)
        {
            rng.NextUInt64();
        }
        Assert.Equal(9981545732273789042UL, rng.NextUInt64());

        var seeded = new Mt19937_64(0xDEADBEEFCAFEBABEUL);
        Assert.Equal(5709736463023475655UL, seeded.NextUInt64());
        Assert.Equal(11300977637468984798UL, seeded.NextUInt64());
        Assert.Equal(5510658324313179733UL, seeded.NextUInt64());

        seeded.Seed(0xDEADBEEFCAFEBABEUL);
        Assert.Equal(5709736463023475655UL, seeded.NextUInt64());
    }

    [Fact]
    public void Mt19937_64_NextDoubleIsInUnitInterval()
    {
        var rng = new Mt19937_64(3);
        double sum = 0;
        for (int i = 0; i < 100_000; i++)
        {
            double d = rng.NextDouble();
            Assert.InRange(d, 0.0, 0.9999999999999999);
            sum += d;
        }
        Assert.InRange(sum / 100_000, 0.49, 0.51);
    }

    // ---- allocation ----

    [Theory]
    [InlineData(0, 1.0f, 0.05f, 0.0f)]     // full vocab, min-p cut, lazy top-p off
    [InlineData(0, 0.95f, 0.0f, 0.8f)]     // full vocab, lazy top-p
    [InlineData(40, 0.95f, 0.05f, 0.8f)]   // the defaults
    [InlineData(40, 0.95f, 0.05f, 0.0f)]   // greedy with penalty
    public void Sample_DoesNotAllocate(int topK, float topP, float minP, float temperature)
    {
        const int vocab = 32_000;
        var sampler = new Sampler(vocab, new SamplerOptions
        {
            TopK = topK, TopP = topP, MinP = minP, Temperature = temperature, RepeatPenalty = 1.1f,
        });
        var rng = new Random(1);
        var logits = new float[vocab];
        for (int i = 0; i < vocab; i++)
        {
            logits[i] = (float)(rng.NextDouble() * 3);
        }
        int[] history = Enumerable.Range(0, 100).Select(i => i * 7 % vocab).ToArray();

        int sink = 0;
        long allocated = Allocations.AfterWarmUp(
            () => sampler.Sample(logits, history),   // warm up JIT tiers
            () =>
            {
                for (int i = 0; i < 100; i++) sink += sampler.Sample(logits, history);
            });
        Assert.Equal(0, allocated);
        Assert.True(sink >= 0);
    }

    // ---- argument checks ----

    [Fact]
    public void Sample_RejectsWrongLogitCount()
    {
        var sampler = new Sampler(4, Plain());
        Assert.Throws<ArgumentException>(() => sampler.Sample([1f, 2f, 3f], NoHistory));
        Assert.Throws<ArgumentException>(() => sampler.Sample([1f, 2f, 3f, 4f, 5f], NoHistory));
    }

    [Fact]
    public void Constructor_RejectsBadArguments()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sampler(0, new SamplerOptions()));
        Assert.Throws<ArgumentNullException>(() => new Sampler(4, null!));
        Assert.Throws<ArgumentException>(() => new Sampler(4, new SamplerOptions { TopP = 0f }));
    }

    // ---- options validation ----

    [Fact]
    public void Defaults_MatchLlamaCpp_AndValidate()
    {
        var o = new SamplerOptions();
        Assert.Equal(0.8f, o.Temperature);
        Assert.Equal(40, o.TopK);
        Assert.Equal(0.95f, o.TopP);
        Assert.Equal(0.05f, o.MinP);
        Assert.Equal(1.0f, o.RepeatPenalty);
        Assert.Equal(64, o.RepeatLastN);
        Assert.Equal(SamplerOptions.DefaultSeed, o.Seed);
        o.Validate();
    }

    [Fact]
    public void Validate_AcceptsBoundaryValues()
    {
        new SamplerOptions { Temperature = 0f, TopK = 0, TopP = 1f, MinP = 0f, RepeatLastN = -1 }.Validate();
        new SamplerOptions { TopP = 1e-6f, MinP = 1f, RepeatPenalty = 1e-3f, RepeatLastN = 0 }.Validate();
        new SamplerOptions { Temperature = 100f, TopK = int.MaxValue, RepeatLastN = int.MaxValue, Seed = ulong.MaxValue }.Validate();
    }

    [Theory]
    [InlineData("temperature", -0.1)]
    [InlineData("temperature", double.NaN)]
    [InlineData("temperature", double.PositiveInfinity)]
    [InlineData("top-k", -1)]
    [InlineData("top-p", 0.0)]
    [InlineData("top-p", -0.5)]
    [InlineData("top-p", 1.01)]
    [InlineData("top-p", double.NaN)]
    [InlineData("min-p", -0.01)]
    [InlineData("min-p", 1.5)]
    [InlineData("min-p", double.NaN)]
    [InlineData("repeat-penalty", 0.0)]
    [InlineData("repeat-penalty", -1.0)]
    [InlineData("repeat-penalty", double.NaN)]
    [InlineData("repeat-last-n", -2)]
    public void Validate_RejectsNonsense(string setting, double value)
    {
        var o = setting switch
        {
            "temperature" => new SamplerOptions { Temperature = (float)value },
            "top-k" => new SamplerOptions { TopK = (int)value },
            "top-p" => new SamplerOptions { TopP = (float)value },
            "min-p" => new SamplerOptions { MinP = (float)value },
            "repeat-penalty" => new SamplerOptions { RepeatPenalty = (float)value },
            "repeat-last-n" => new SamplerOptions { RepeatLastN = (int)value },
            _ => throw new ArgumentOutOfRangeException(nameof(setting)),
        };
        var ex = Assert.Throws<ArgumentException>(o.Validate);
        Assert.StartsWith(setting, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }
}
