// The SIMD paths of every K-quant · Q8_K dot (Q4_K and Q2_K also in their blockwise specs) and of the four-row prompt
// products, against the scalar References, on each path this CPU supports (NEON only on AArch64). The specs fix the
// arithmetic, so every path must match bit for bit (a NaN matches any NaN: which payload an fma propagates depends on
// operand order).
// Lengths: super-block counts 1..9, 22 and 33 (2048- and 5632-wide rows among them), plus lengths that are not a
// whole number of super-blocks (the spec ignores the leftover elements); starts shifted by 0..3 bytes; every buffer
// ends against a PROT_NONE page (GuardedMemory), so a load past a row crashes the run.
// Weights: random bytes (every scale, min and quant pattern) with random finite fp16 d/dmin; all-0x00 / all-0xFF /
// mixed blocks (extreme quants and sub-block scales, Q6_K scales −128/−127/127); blocks made by the K quantizers
// from random floats; zero, subnormal, largest, infinite and NaN fp16 d and dmin.
// Activations: Q8_K blocks from QuantizeFormats.Q8_K (which never produces −128, see the last test) and hand-filled
// ones with quants in [−128, 127] (random, all −128, all 127, ±127 or −128/127 mixes) and bsums that match them,
// with a d of every kind (zero, subnormal, largest, infinite, NaN).
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.Dot;
using LlamaAot.Kernels.MatMul;
using LlamaAot.Kernels.Jit;
using LlamaAot.Kernels.Quants;

using static LlamaAot.Tests.Kernels.KernelTestKit;

namespace LlamaAot.Tests.Kernels;

public unsafe class KQuantPathTests : IDisposable
{
    public static TheoryData<string> Paths() => PathData("avx2", "v128", "neon");

    private static readonly int[] BlockCounts = [1, 2, 3, 7, 8, 9, 22, 33];
    private static readonly int[] Shifts = [0, 1, 2, 3];
    private const int QK = 256;

    // ---- kernels by path ----------------------------------------------------------------------------------------

    public enum Kind { Q6_K, Q5_K, Q4_K, Q4_KBlockwise, Q3_K, Q2_K, Q2_KBlockwise }

    private static int WeightBlockBytes(Kind k) => k switch
    {
        Kind.Q6_K => sizeof(BlockQ6_K),
        Kind.Q5_K => sizeof(BlockQ5_K),
        Kind.Q4_K or Kind.Q4_KBlockwise => sizeof(BlockQ4_K),
        Kind.Q3_K => sizeof(BlockQ3_K),
        _ => sizeof(BlockQ2_K),
    };

    /// <summary>Byte offsets of the fp16 d and dmin (−1: none) in a weight block.</summary>
    private static (int D, int DMin) ScaleOffsets(Kind k) => k switch
    {
        Kind.Q6_K => (208, -1),
        Kind.Q5_K or Kind.Q4_K or Kind.Q4_KBlockwise => (0, 2),
        Kind.Q3_K => (108, -1),
        _ => (80, 82),
    };

    private static delegate*<float*, byte*, int, void> QuantizerOf(Kind k) => k switch
    {
        Kind.Q6_K => &QuantizeFormats.Q6_KRef,
        Kind.Q5_K => &QuantizeFormats.Q5_KRef,
        Kind.Q4_K or Kind.Q4_KBlockwise => &QuantizeFormats.Q4_KRef,
        Kind.Q3_K => &QuantizeFormats.Q3_KRef,
        _ => &QuantizeFormats.Q2_KRef,
    };

    private static delegate*<byte*, byte*, int, float> RefOf(Kind k) => k switch
    {
        Kind.Q6_K => &DotQ6_KQ8_K.Reference,
        Kind.Q5_K => &DotQ5_KQ8_K.Reference,
        Kind.Q4_K => &DotQ4_KQ8_K.Reference,
        Kind.Q4_KBlockwise => &DotQ4_KQ8_K.ReferenceBlockwise,
        Kind.Q3_K => &DotQ3_KQ8_K.Reference,
        Kind.Q2_K => &DotQ2_KQ8_K.Reference,
        _ => &DotQ2_KQ8_K.ReferenceBlockwise,
    };

    private static delegate*<byte*, byte*, int, float> DotOf(string path, Kind k) => (path, k) switch
    {
        ("avx2", Kind.Q6_K) => &DotQ6_KQ8_K.Avx2,
        ("v128", Kind.Q6_K) => &DotQ6_KQ8_K.V128,
        ("neon", Kind.Q6_K) => &DotQ6_KQ8_K.Neon,
        ("avx2", Kind.Q5_K) => &DotQ5_KQ8_K.Avx2,
        ("v128", Kind.Q5_K) => &DotQ5_KQ8_K.V128,
        ("neon", Kind.Q5_K) => &DotQ5_KQ8_K.Neon,
        ("avx2", Kind.Q4_K) => &DotQ4_KQ8_K.Avx2,
        ("v128", Kind.Q4_K) => &DotQ4_KQ8_K.V128,
        ("neon", Kind.Q4_K) => &DotQ4_KQ8_K.Neon,
        ("avx2", Kind.Q4_KBlockwise) => &DotQ4_KQ8_K.Avx2Blockwise,
        ("v128", Kind.Q4_KBlockwise) => &DotQ4_KQ8_K.V128Blockwise,
        ("neon", Kind.Q4_KBlockwise) => &DotQ4_KQ8_K.NeonBlockwise,
        ("avx2", Kind.Q3_K) => &DotQ3_KQ8_K.Avx2,
        ("v128", Kind.Q3_K) => &DotQ3_KQ8_K.V128,
        ("neon", Kind.Q3_K) => &DotQ3_KQ8_K.Neon,
        ("avx2", Kind.Q2_K) => &DotQ2_KQ8_K.Avx2,
        ("v128", Kind.Q2_K) => &DotQ2_KQ8_K.V128,
        ("neon", Kind.Q2_K) => &DotQ2_KQ8_K.Neon,
        ("avx2", Kind.Q2_KBlockwise) => &DotQ2_KQ8_K.Avx2Blockwise,
        ("v128", Kind.Q2_KBlockwise) => &DotQ2_KQ8_K.V128Blockwise,
        ("neon", Kind.Q2_KBlockwise) => &DotQ2_KQ8_K.NeonBlockwise,
        _ => throw new ArgumentException($"{path} {k}"),
    };

    // ---- contents -----------------------------------------------------------------------------------------------

    private static readonly Fill[] AllFills = Enum.GetValues<Fill>();

    private static readonly float[] SpecialFloats = [0f, -0f, float.Epsilon, 1e-40f, float.MaxValue, float.PositiveInfinity, float.NegativeInfinity, float.NaN, 1f];


    /// <summary>Weight super-blocks of kind k: the K quantizer's output for random floats (Quantized), or bytes —
    /// random, or in the extreme fill all-0 / all-max quants and sub-block scales (or a per-byte mix) — then the fp16
    /// d/dmin of the fill.</summary>
    private static void FillWeights(byte* w, int blocks, Kind k, Fill fill, Random rng)
    {
        int bytes = WeightBlockBytes(k);
        if (fill == Fill.Quantized)
        {
            float* x = stackalloc float[QK];
            for (int b = 0; b < blocks; b++)
            {
                double scale = Math.Pow(10, rng.Next(-3, 3));
                for (int i = 0; i < QK; i++) x[i] = (float)((rng.NextDouble() * 2 - 1) * scale);
                QuantizerOf(k)(x, w + b * bytes, QK);
            }
            return;
        }
        var (dOff, mOff) = ScaleOffsets(k);
        for (int b = 0; b < blocks; b++)
        {
            byte* p = w + b * bytes;
            int mode = fill == Fill.Extreme ? rng.Next(3) : 3;
            for (int i = 0; i < bytes; i++)
            {
                p[i] = mode switch
                {
                    0 => 0x00,
                    1 => 0xFF,
                    2 => rng.Next(2) == 0 ? (byte)0x00 : (byte)0xFF,
                    _ => (byte)rng.Next(256),
                };
            }
            if (k == Kind.Q6_K && fill == Fill.Extreme)
            {
                var x = (BlockQ6_K*)p;
                for (int j = 0; j < 16; j++) x->Scales[j] = rng.Next(3) switch { 0 => -128, 1 => 127, _ => -127 };
            }
            *(ushort*)(p + dOff) = ScaleFor(fill, rng);
            if (mOff >= 0) *(ushort*)(p + mOff) = ScaleFor(fill, rng);
        }
    }

    /// <summary>Q8_K activation super-blocks: QuantizeFormats.Q8_K of random floats (per-block magnitudes, sometimes an
    /// all-zero block) for Quantized; otherwise hand-filled quants (random in [−128, 127], or in the extreme fills all
    /// −128 / all 127 / mixes) with bsums summed from them and a signed random d, or in the scale fills an occasional
    /// zero or special d.</summary>
    private static void FillActivations(byte* a, int blocks, Fill fill, Random rng)
    {
        if (fill == Fill.Quantized)
        {
            float* x = stackalloc float[QK];
            for (int b = 0; b < blocks; b++)
            {
                double scale = rng.Next(8) == 0 ? 0 : Math.Pow(10, rng.Next(-4, 4));
                for (int i = 0; i < QK; i++) x[i] = (float)((rng.NextDouble() * 2 - 1) * scale);
                QuantizeFormats.Q8_K(x, a + b * sizeof(BlockQ8_K), QK);
            }
            return;
        }
        for (int b = 0; b < blocks; b++)
        {
            var y = (BlockQ8_K*)(a + b * sizeof(BlockQ8_K));
            int mode = fill is Fill.Extreme or Fill.ExtremeActivations ? rng.Next(4) : 4;
            for (int i = 0; i < QK; i++)
            {
                y->Qs[i] = mode switch
                {
                    0 => -128,
                    1 => 127,
                    2 => (sbyte)(rng.Next(2) == 0 ? -128 : 127),
                    3 => (sbyte)(rng.Next(2) == 0 ? -127 : 127),
                    _ => (sbyte)rng.Next(-128, 128),
                };
            }
            for (int j = 0; j < 16; j++)
            {
                int sum = 0;
                for (int i = 0; i < 16; i++) sum += y->Qs[16 * j + i];
                y->BSums[j] = (short)sum;
            }
            y->D = fill switch
            {
                Fill.SpecialScales when rng.Next(3) == 0 => SpecialFloats[rng.Next(SpecialFloats.Length)],
                Fill.ZeroScales when rng.Next(3) == 0 => rng.Next(2) == 0 ? 0f : -0f,
                _ => (float)((rng.NextDouble() * 2 - 1) * Math.Pow(2, rng.Next(-20, 4))),
            };
        }
    }

    // ---- single-row dots ----------------------------------------------------------------------------------------

    public static TheoryData<string, Kind> PathsAndKinds()
    {
        var data = new TheoryData<string, Kind>();
        foreach (object[] row in (IEnumerable<object[]>)Paths())
        {
            foreach (var k in Enum.GetValues<Kind>()) data.Add((string)row[0], k);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(PathsAndKinds))]
    public void DotMatchesReference(string path, Kind k)
    {
        var dot = DotOf(path, k);
        var reference = RefOf(k);
        int checkedCount = 0;
        foreach (int blocks in BlockCounts.Append(0))
        {
            foreach (int shift in Shifts)
            {
                foreach (var fill in AllFills)
                {
                    var rng = new Random(Seed(blocks, shift, (int)fill, (int)k));
                    int n = blocks * QK;
                    byte* w = Row(blocks * WeightBlockBytes(k), shift);
                    byte* a = Row(blocks * sizeof(BlockQ8_K), 3 - shift);
                    FillWeights(w, blocks, k, fill, rng);
                    FillActivations(a, blocks, fill, rng);
                    AssertSame(reference(w, a, n), dot(w, a, n), $"[{path}] {k} dot, {blocks} blocks, shift {shift}, {fill}");
                    if (blocks > 0)
                    {
                        foreach (int cut in new[] { 5, 37 })
                        {
                            AssertSame(reference(w, a, n - cut), dot(w, a, n - cut), $"[{path}] {k} dot, n = {n - cut}, shift {shift}, {fill}");
                        }
                    }
                    checkedCount++;
                }
            }
        }
        Assert.Equal((BlockCounts.Length + 1) * Shifts.Length * AllFills.Length, checkedCount);
    }

    // ---- prompt products ----------------------------------------------------------------------------------------

    /// <summary>The prompt product of each kind on a path (Q4_K has one only in the blockwise order; on the AVX-512
    /// path only Q3_K, Q4_K, Q5_K and Q6_K have their own).</summary>
    private static delegate*<MatMulArgs*, int, int, void> GemmOf(Kind k, string path) => (k, path) switch
    {
        (Kind.Q4_KBlockwise, "avx512") => &DotQ4_KQ8_K.GemmAvx512Blockwise,
        (Kind.Q4_KBlockwise, "avx512-vnni") => &DotQ4_KQ8_K.GemmAvx512VnniBlockwise,
        (Kind.Q6_K, "avx512-vnni") => &DotQ6_KQ8_K.GemmAvx512Vnni,
        (Kind.Q5_K, "avx512-vnni") => &DotQ5_KQ8_K.GemmAvx512Vnni,
        (Kind.Q3_K, "avx512-vnni") => &DotQ3_KQ8_K.GemmAvx512Vnni,
        (Kind.Q2_KBlockwise, "avx512-vnni") => &DotQ2_KQ8_K.GemmAvx512VnniBlockwise,
        (_, "avx512") => throw new ArgumentException($"no AVX-512 prompt product for {k}"),
        (Kind.Q6_K, _) => &DotQ6_KQ8_K.GemmAvx2,
        (Kind.Q5_K, _) => &DotQ5_KQ8_K.GemmAvx2,
        (Kind.Q4_KBlockwise, _) => &DotQ4_KQ8_K.GemmAvx2Blockwise,
        (Kind.Q3_K, _) => &DotQ3_KQ8_K.GemmAvx2,
        (Kind.Q2_K, _) => &DotQ2_KQ8_K.GemmAvx2,
        (Kind.Q2_KBlockwise, _) => &DotQ2_KQ8_K.GemmAvx2Blockwise,
        _ => throw new ArgumentException($"no prompt product for {k}"),
    };

    [Theory]
    [InlineData(Kind.Q6_K, "avx2")]
    [InlineData(Kind.Q6_K, "avx512-vnni")]
    [InlineData(Kind.Q5_K, "avx512-vnni")]
    [InlineData(Kind.Q3_K, "avx512-vnni")]
    [InlineData(Kind.Q5_K, "avx2")]
    [InlineData(Kind.Q4_KBlockwise, "avx2")]
    [InlineData(Kind.Q4_KBlockwise, "avx512")]
    [InlineData(Kind.Q4_KBlockwise, "avx512-vnni")]
    [InlineData(Kind.Q3_K, "avx2")]
    [InlineData(Kind.Q2_K, "avx2")]
    [InlineData(Kind.Q2_KBlockwise, "avx2")]
    [InlineData(Kind.Q2_KBlockwise, "avx512-vnni")]
    public void AvxGemmMatchesReferenceForEveryRangeAndBatch(Kind k, string path)
    {
        // The AVX2 products with four activation rows per pass (the AVX-512 table's too, but for Q3_K's, Q4_K's,
        // Q5_K's and Q6_K's), the emitted Q6_K, Q5_K and Q3_K products with eight (then four on AVX2), and the
        // AVX-512 Q4_K and Q2_K tiles of sixteen weight rows against 8, 4, 2 and 1 activation rows: batches that
        // leave 0..3 activation rows after the groups of four (0..7 after the eights), ranges that start and end
        // anywhere; every output is the Reference's bits, nothing outside the range is written.
        Assert.True(Avx2.IsSupported && Fma.IsSupported, "this test needs the AVX2 machine CI runs on");
        Assert.True(path != "avx512" || Avx512BW.IsSupported, "this test needs the AVX-512 machine CI runs on");
        // The emitted tiles (Jit/VnniTiles.cs) for groups of eight and four activation rows, the intrinsic ones for
        // the rest.
        Assert.True(path != "avx512-vnni" || VnniTiles.Available, "this test needs the AVX-512 VNNI machine CI runs on");
        // Super-block counts: under one group of eight (the blockwise decode's short group), whole groups, and
        // groups plus a short one; for the emitted Q3_K product also 43 (7B's ffn_down), whose flipped activation
        // copy takes batch tiles of 40 rows to stay under IntGemm's state cap; for the emitted Q4_K decode 5 (one
        // group of four, which its loop peels) and 130, past its stack cap (128), where it decodes as on AVX2; for the
        // emitted Q5_K decode 205, past the cap on its prepared activation (204), where it does too (batches 1 and 3
        // only); for the Q2_K tiles 49, past theirs (48), where prompts go through the AVX2 kernel. Batch 137 (at 8
        // super-blocks) takes two batch tiles, of 128 and 9 rows. The emitted Q6_K, Q5_K and Q3_K prompt products take
        // eight weight rows a call while their tables fit 256 KiB, and single rows past that (Q3_K at 43, Q6_K at 57
        // super-blocks) and for the rows a range leaves after its eights (range (1, 14): one call of eight, five of
        // one).
        const int Rows = 16;
        var reference = RefOf(k);
        var rng = new Random(41);
        int[] blockCounts = (k, path) switch
        {
            (Kind.Q3_K, "avx512-vnni") => [3, 8, 15, 22, 43],
            (Kind.Q4_KBlockwise, "avx512-vnni") => [3, 5, 8, 15, 22, 130],
            (Kind.Q5_K, "avx512-vnni") => [3, 8, 15, 22, 205],
            (Kind.Q6_K, "avx512-vnni") => [3, 8, 15, 22, 57],
            (Kind.Q2_KBlockwise, "avx512-vnni") => [3, 8, 15, 22, 49],
            _ => [3, 8, 15, 22],
        };
        foreach (int blocks in blockCounts)
        {
            int n = blocks * QK;
            long rowBytes = blocks * WeightBlockBytes(k), actBytes = blocks * sizeof(BlockQ8_K);
            int[] batches = blocks switch { 8 => [1, 3, 4, 6, 9, 70, 137], > 128 => [1, 3], _ => [1, 3, 4, 6, 9, 70] };
            foreach (int batch in batches)
            {
                foreach (var fill in new[] { Fill.Random, Fill.Quantized, Fill.Extreme, Fill.SpecialScales, Fill.ZeroScales })
                {
                    byte* w = Row((int)(Rows * rowBytes), 1);
                    byte* act = Row((int)(batch * actBytes), 2);
                    for (int r = 0; r < Rows; r++) FillWeights(w + r * rowBytes, blocks, k, fill, rng);
                    for (int b = 0; b < batch; b++) FillActivations(act + b * actBytes, blocks, fill, rng);
                    const long YStride = Rows + 3;
                    float* y = (float*)Row((int)(batch * YStride * sizeof(float)), 0);
                    var m = new MatMulArgs
                    {
                        W = w, RowBytes = rowBytes, Rows = Rows, Cols = n, Act = act, ActRowBytes = actBytes, Batch = batch,
                        Y = y, YStride = YStride, Dot = DotOf("avx2", k),
                    };
                    CheckGemmRanges(m, GemmOf(k, path), reference, [(0, Rows), (3, 11), (2, 9), (5, 5), (1, 14)], $"[{path}] {k} gemm {blocks} blocks {fill}");
                }
            }
        }
    }

    /// <summary>The quantizer's range, on which the fills above rely: Q8_K quants stay in [−127, 127].</summary>
    [Fact]
    public void QuantizeQ8_KNeverProducesMinus128()
    {
        var rng = new Random(5);
        float* x = stackalloc float[QK];
        var blk = stackalloc BlockQ8_K[1];
        for (int t = 0; t < 2000; t++)
        {
            float max = (float)((rng.NextDouble() * 2 - 1) * Math.Pow(10, rng.Next(-30, 30)));
            for (int i = 0; i < QK; i++) x[i] = rng.Next(4) == 0 ? max : rng.Next(4) == 0 ? -max : (float)(max * (rng.NextDouble() * 2 - 1));
            QuantizeFormats.Q8_K(x, (byte*)blk, QK);
            for (int i = 0; i < QK; i++) Assert.True(blk->Qs[i] >= -127, $"trial {t}: q[{i}] = {blk->Qs[i]}");
        }
    }

    // ---- guard-paged buffers ------------------------------------------------------------------------------------

    private readonly GuardedMemory _memory = new();

    /// <summary>Room for `bytes` bytes ending `slack` bytes before a guard page (see GuardedMemory).</summary>
    private byte* Row(int bytes, int slack) => _memory.Bytes(bytes, slack);

    public void Dispose()
    {
        _memory.Dispose();
        GC.SuppressFinalize(this);
    }
}
