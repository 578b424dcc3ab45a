// The SIMD paths of the Q6_K · Q8_K and Q4_K · Q8_K dots (Q4_K in both of its specs) against the scalar References,
// on each path this CPU supports (NEON only on AArch64). The specs fix the arithmetic, so every path must match bit
// for bit (a NaN matches any NaN). Super-block counts 1..9, 33 and real rows (2048 and 5632 wide); starts shifted by
// 0..3 bytes; every buffer ends against a PROT_NONE page (GuardedMemory), so an over-read crashes the run.
// Contents: random weight bytes with random fp16 scales; extreme quants (all 0 / all max, Q6_K scales ±127/−128,
// Q4_K 6-bit scales and mins 0 / 63); zero, subnormal, largest, infinite and NaN fp16 d (and dmin); activations
// from QuantizeFormats.Q8_K (which yields [-127, 127]) and hand-filled extremes (-128 included) with consistent
// bsums, also with zero/subnormal/inf/NaN activation d.
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.Dot;
using LlamaAot.Kernels.MatMul;
using LlamaAot.Kernels.Quants;

using static LlamaAot.Tests.Kernels.KernelTestKit;

namespace LlamaAot.Tests.Kernels;

public unsafe class KQuantPathTestsA : IDisposable
{
    public static TheoryData<string> Paths() => PathData("avx2", "v128", "neon");

    private static readonly int[] BlockCounts = [1, 2, 3, 7, 8, 9, 22, 33];
    private static readonly int[] Shifts = [0, 1, 2, 3];
    private const int QK = 256;

    // ---- kernels by path ----------------------------------------------------------------------------------------

    public enum Kind { Q6_K, Q4_K, Q4_KBlockwise }

    private static int WeightBlockBytes(Kind k) => k == Kind.Q6_K ? sizeof(BlockQ6_K) : sizeof(BlockQ4_K);

    private static delegate*<byte*, byte*, int, float> RefOf(Kind k) => k switch
    {
        Kind.Q6_K => &DotQ6_KQ8_K.Reference,
        Kind.Q4_K => &DotQ4_KQ8_K.Reference,
        _ => &DotQ4_KQ8_K.ReferenceBlockwise,
    };

    private static delegate*<byte*, byte*, int, float> DotOf(string path, Kind k) => (path, k) switch
    {
        ("avx2", Kind.Q6_K) => &DotQ6_KQ8_K.Avx2,
        ("avx2", Kind.Q4_K) => &DotQ4_KQ8_K.Avx2,
        ("avx2", Kind.Q4_KBlockwise) => &DotQ4_KQ8_K.Avx2Blockwise,
        ("v128", Kind.Q6_K) => &DotQ6_KQ8_K.V128,
        ("v128", Kind.Q4_K) => &DotQ4_KQ8_K.V128,
        ("v128", Kind.Q4_KBlockwise) => &DotQ4_KQ8_K.V128Blockwise,
        ("neon", Kind.Q6_K) => &DotQ6_KQ8_K.Neon,
        ("neon", Kind.Q4_K) => &DotQ4_KQ8_K.Neon,
        ("neon", Kind.Q4_KBlockwise) => &DotQ4_KQ8_K.NeonBlockwise,
        _ => throw new ArgumentException($"{path} {k}"),
    };

    // ---- contents -----------------------------------------------------------------------------------------------

    private enum Fill { Random, Extreme, ZeroScales, SpecialScales, Quantized, ExtremeActivations }

    private static readonly Fill[] AllFills = Enum.GetValues<Fill>();

    private static readonly float[] SpecialFloats = [0f, -0f, float.Epsilon, 1e-40f, float.MaxValue, float.PositiveInfinity, float.NegativeInfinity, float.NaN];

    private static ushort ScaleFor(Fill fill, Random rng) => fill switch
    {
        Fill.ZeroScales => rng.Next(3) == 0 ? (ushort)(rng.Next(2) == 0 ? 0x0000 : 0x8000) : RandomScale(rng),
        Fill.SpecialScales => rng.Next(3) == 0 ? SpecialHalves[rng.Next(SpecialHalves.Length)] : RandomScale(rng),
        Fill.Extreme => rng.Next(2) == 0 ? (ushort)0x7bff : (ushort)0xfbff,
        _ => RandomScale(rng),
    };

    /// <summary>Weight super-blocks of kind k: random bytes, or in the extreme fill all-0 / all-max quants and
    /// extreme sub-block scales (or a random mix of the two per byte), then the fp16 fields.</summary>
    private static void FillWeights(byte* w, int blocks, Kind k, Fill fill, Random rng)
    {
        int bytes = WeightBlockBytes(k);
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
            if (k == Kind.Q6_K)
            {
                var x = (BlockQ6_K*)p;
                if (fill == Fill.Extreme)
                {
                    for (int j = 0; j < 16; j++) x->Scales[j] = rng.Next(3) switch { 0 => -128, 1 => 127, _ => -127 };
                }
                x->D = ScaleFor(fill, rng);
            }
            else
            {
                var x = (BlockQ4_K*)p;
                x->D = ScaleFor(fill, rng);
                x->DMin = ScaleFor(fill, rng);
            }
        }
    }

    /// <summary>Q8_K activation super-blocks: QuantizeFormats.Q8_K of random floats (per-block magnitudes, sometimes a
    /// zero block), or hand-filled quants (random in [-128, 127], or all -128 / all 127 / a mix) with bsums summed
    /// from them and a random, or in the special fills an occasional special, fp32 d.</summary>
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
            bool special = (fill is Fill.SpecialScales or Fill.ZeroScales) && rng.Next(4) == 0;
            y->D = special ? SpecialFloats[rng.Next(SpecialFloats.Length)] : (float)(Math.Pow(2, rng.Next(-20, 0)) * (1 + rng.NextDouble()));
        }
    }

    // ---- single-row dots ----------------------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(Paths))]
    public void Q6_KDotMatchesReference(string path) => CheckDots(path, Kind.Q6_K);

    [Theory]
    [MemberData(nameof(Paths))]
    public void Q4_KDotMatchesReference(string path) => CheckDots(path, Kind.Q4_K);

    [Theory]
    [MemberData(nameof(Paths))]
    public void Q4_KBlockwiseDotMatchesReferenceBlockwise(string path) => CheckDots(path, Kind.Q4_KBlockwise);

    [Theory]
    [InlineData(Kind.Q4_KBlockwise)]
    [InlineData(Kind.Q6_K)]
    public void AvxGemmMatchesReferenceForEveryRangeAndBatch(Kind k)
    {
        // The AVX2 products with four activation rows per pass (also the AVX-512 table's): batches that leave 0..3
        // activation rows after the groups of four, ranges that start and end anywhere; every output is the
        // Reference's bits, nothing outside the range is written.
        if (!Avx2.IsSupported || !Fma.IsSupported) return;   // (the Reference fallback is what the other paths run)
        const int Blocks = 3, Rows = 16;
        int n = Blocks * QK;
        long rowBytes = Blocks * WeightBlockBytes(k), actBytes = Blocks * sizeof(BlockQ8_K);
        var reference = RefOf(k);
        var rng = new Random(41);
        foreach (int batch in new[] { 1, 3, 4, 6, 9, 70 })
        {
            foreach (var fill in new[] { Fill.Random, Fill.Quantized, Fill.Extreme, Fill.SpecialScales })
            {
                byte* w = Row((int)(Rows * rowBytes), 1);
                byte* act = Row((int)(batch * actBytes), 2);
                for (int r = 0; r < Rows; r++) FillWeights(w + r * rowBytes, Blocks, k, fill, rng);
                for (int b = 0; b < batch; b++) FillActivations(act + b * actBytes, Blocks, fill, rng);
                const long YStride = Rows + 3;
                float* y = (float*)Row((int)(batch * YStride * sizeof(float)), 0);
                foreach (var (start, end) in new[] { (0, Rows), (3, 11), (5, 5) })
                {
                    for (long i = 0; i < batch * YStride; i++) y[i] = float.NaN;
                    var m = new MatMulArgs
                    {
                        W = w, RowBytes = rowBytes, Rows = Rows, Cols = n, Act = act, ActRowBytes = actBytes, Batch = batch,
                        Y = y, YStride = YStride, Dot = DotOf("avx2", k),
                    };
                    if (k == Kind.Q6_K) DotQ6_KQ8_K.GemmAvx2(&m, start, end);
                    else DotQ4_KQ8_K.GemmAvx2Blockwise(&m, start, end);
                    for (int b = 0; b < batch; b++)
                    {
                        for (int r = 0; r < Rows; r++)
                        {
                            float got = y[b * YStride + r];
                            string what = $"{k} gemm rows [{start}, {end}) batch {batch} {fill}: y[{b}, {r}]";
                            if (r < start || r >= end) Assert.True(float.IsNaN(got), $"{what} written outside the range");
                            else AssertSame(reference(w + r * rowBytes, act + b * actBytes, n), got, what);
                        }
                    }
                }
            }
        }
    }

    private void CheckDots(string path, Kind k)
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
                    // A length that is not a whole number of super-blocks: the spec ignores the leftover elements.
                    if (blocks > 0)
                    {
                        AssertSame(reference(w, a, n - 37), dot(w, a, n - 37), $"[{path}] {k} dot, n = {n - 37}, shift {shift}, {fill}");
                    }
                    checkedCount++;
                }
            }
        }
        Assert.True(checkedCount > 0);
    }

    // ---- comparisons --------------------------------------------------------------------------------------------

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
