// The SIMD paths of the Q5_K, Q3_K and Q2_K · Q8_K dots (Q2_K in both of its specs) against the scalar Reference,
// on each path this CPU supports (NEON is never listed on x64). The specs fix the arithmetic, so the dots must match
// bit for bit (a NaN matches any NaN: which payload an fma propagates depends on operand order).
// Super-block counts 1..9, 33 and the real row lengths 2048 (8) and 5632 (22), plus a length that is not a whole
// number of super-blocks; starts shifted by 0..3 bytes; every buffer ends against a PROT_NONE page (Linux), so a
// load one byte past a row crashes the run. Weights: random bytes (every scale, min and quant pattern) with random
// finite fp16 d/dmin, all-0x00 / all-0xFF / mixed blocks (extreme quants and scales), blocks made by the K
// quantizers from random floats, and zero, subnormal, largest, infinite and NaN d and dmin. Activations: Q8_K blocks
// from QuantizeFormats.Q8_K (which never produces −128: its iscale = −127/max keeps |x·iscale| ≤ 127 and clamps at
// +127) and hand-filled ones with quants in [−128, 127] (all −128, all 127, mixed) and bsums that match them.
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.Dot;
using LlamaAot.Kernels.Quants;

using static LlamaAot.Tests.Kernels.KernelTestKit;

namespace LlamaAot.Tests.Kernels;

public unsafe class KQuantPathTestsB : IDisposable
{
    public static TheoryData<string> Paths() => PathData("avx2", "v128", "neon");

    private static readonly int[] BlockCounts = [1, 2, 3, 7, 8, 9, 22, 33];
    private static readonly int[] Shifts = [0, 1, 2, 3];

    // ---- kernels by path ----------------------------------------------------------------------------------------

    private enum Kind { Q5_K, Q3_K, Q2_K, Q2_KBlockwise }

    private static int WeightBlockBytes(Kind k) => k switch
    {
        Kind.Q5_K => sizeof(BlockQ5_K),
        Kind.Q3_K => sizeof(BlockQ3_K),
        _ => sizeof(BlockQ2_K),
    };

    /// <summary>Byte offsets of the fp16 d and dmin (−1: none) in a weight block.</summary>
    private static (int D, int DMin) ScaleOffsets(Kind k) => k switch
    {
        Kind.Q5_K => (0, 2),
        Kind.Q3_K => (108, -1),
        _ => (80, 82),
    };

    private static delegate*<byte*, byte*, int, float> RefOf(Kind k) => k switch
    {
        Kind.Q5_K => &DotQ5_KQ8_K.Reference,
        Kind.Q3_K => &DotQ3_KQ8_K.Reference,
        Kind.Q2_K => &DotQ2_KQ8_K.Reference,
        _ => &DotQ2_KQ8_K.ReferenceBlockwise,
    };

    private static delegate*<byte*, byte*, int, float> DotOf(string path, Kind k) => (path, k) switch
    {
        ("avx2", Kind.Q5_K) => &DotQ5_KQ8_K.Avx2,
        ("v128", Kind.Q5_K) => &DotQ5_KQ8_K.V128,
        ("neon", Kind.Q5_K) => &DotQ5_KQ8_K.Neon,
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

    private enum Fill { Random, Extreme, ZeroScales, SpecialScales, Quantized, ExtremeActivations }

    private static readonly Fill[] AllFills = Enum.GetValues<Fill>();

    private static readonly float[] SpecialFloats = [0f, -0f, float.Epsilon, 1e-40f, float.MaxValue, float.PositiveInfinity, float.NegativeInfinity, float.NaN, 1f];

    private static ushort ScaleFor(Fill fill, Random rng) => fill switch
    {
        Fill.ZeroScales => rng.Next(3) == 0 ? (ushort)(rng.Next(2) == 0 ? 0x0000 : 0x8000) : RandomScale(rng),
        Fill.SpecialScales => rng.Next(3) == 0 ? SpecialHalves[rng.Next(SpecialHalves.Length)] : RandomScale(rng),
        Fill.Extreme => rng.Next(2) == 0 ? (ushort)0x7bff : (ushort)0xfbff,
        _ => RandomScale(rng),
    };

    private static void FillWeights(byte* w, int blocks, Kind k, Fill fill, Random rng)
    {
        int bytes = WeightBlockBytes(k);
        if (fill == Fill.Quantized)
        {
            float* x = stackalloc float[256];
            for (int b = 0; b < blocks; b++)
            {
                double scale = Math.Pow(10, rng.Next(-3, 3));
                for (int i = 0; i < 256; i++) x[i] = (float)((rng.NextDouble() * 2 - 1) * scale);
                byte* p = w + b * bytes;
                switch (k)
                {
                    case Kind.Q5_K: QuantizeFormats.Q5_KRef(x, p, 256); break;
                    case Kind.Q3_K: QuantizeFormats.Q3_KRef(x, p, 256); break;
                    default: QuantizeFormats.Q2_KRef(x, p, 256); break;
                }
            }
            return;
        }
        var (dOff, mOff) = ScaleOffsets(k);
        for (int b = 0; b < blocks; b++)
        {
            byte* p = w + b * bytes;
            int mode = fill == Fill.Extreme || fill == Fill.ExtremeActivations ? rng.Next(3) : 3;
            for (int i = 0; i < bytes; i++)
            {
                p[i] = mode switch
                {
                    0 => 0x00,
                    1 => 0xff,
                    2 => rng.Next(2) == 0 ? (byte)0x00 : (byte)0xff,
                    _ => (byte)rng.Next(256),
                };
            }
            *(ushort*)(p + dOff) = ScaleFor(fill, rng);
            if (mOff >= 0) *(ushort*)(p + mOff) = ScaleFor(fill, rng);
        }
    }

    /// <summary>Q8_K activation blocks: from the quantizer (Quantized, Random fills), or hand-filled quants in
    /// [−128, 127] with consistent bsums (extreme: all −128, all 127, or a mix) and a d of every kind.</summary>
    private static void FillActivations(byte* a, int blocks, Fill fill, Random rng)
    {
        if (fill is Fill.Quantized or Fill.Random)
        {
            float* x = stackalloc float[256];
            for (int b = 0; b < blocks; b++)
            {
                double scale = Math.Pow(10, rng.Next(-4, 4));
                for (int i = 0; i < 256; i++) x[i] = (float)((rng.NextDouble() * 2 - 1) * scale);
                if (rng.Next(8) == 0) for (int i = 0; i < 256; i++) x[i] = 0;   // an all-zero block (d = 0)
                QuantizeFormats.Q8_K(x, a + b * sizeof(BlockQ8_K), 256);
            }
            return;
        }
        for (int b = 0; b < blocks; b++)
        {
            var blk = (BlockQ8_K*)(a + b * sizeof(BlockQ8_K));
            blk->D = fill == Fill.SpecialScales && rng.Next(3) == 0
                ? SpecialFloats[rng.Next(SpecialFloats.Length)]
                : fill == Fill.ZeroScales && rng.Next(3) == 0 ? 0f : (float)((rng.NextDouble() * 2 - 1) * Math.Pow(2, rng.Next(-20, 4)));
            int mode = fill is Fill.Extreme or Fill.ExtremeActivations ? rng.Next(3) : 3;
            for (int i = 0; i < 256; i++)
            {
                blk->Qs[i] = mode switch
                {
                    0 => -128,
                    1 => 127,
                    2 => (sbyte)(rng.Next(2) == 0 ? -128 : 127),
                    _ => (sbyte)rng.Next(-128, 128),
                };
            }
            for (int j = 0; j < 16; j++)
            {
                int s = 0;
                for (int i = 0; i < 16; i++) s += blk->Qs[16 * j + i];
                blk->BSums[j] = (short)s;
            }
        }
    }

    // ---- single-row dots ----------------------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(Paths))]
    public void Q5_KDotMatchesReference(string path) => CheckDots(path, Kind.Q5_K);

    [Theory]
    [MemberData(nameof(Paths))]
    public void Q3_KDotMatchesReference(string path) => CheckDots(path, Kind.Q3_K);

    [Theory]
    [MemberData(nameof(Paths))]
    public void Q2_KDotMatchesReference(string path) => CheckDots(path, Kind.Q2_K);

    [Theory]
    [MemberData(nameof(Paths))]
    public void Q2_KBlockwiseDotMatchesReferenceBlockwise(string path) => CheckDots(path, Kind.Q2_KBlockwise);

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
                    int n = blocks * 256;
                    byte* w = Row(blocks * WeightBlockBytes(k), shift);
                    byte* a = Row(blocks * sizeof(BlockQ8_K), 3 - shift);
                    FillWeights(w, blocks, k, fill, rng);
                    FillActivations(a, blocks, fill, rng);
                    AssertSame(reference(w, a, n), dot(w, a, n), $"[{path}] {k} dot, {blocks} blocks, shift {shift}, {fill}");
                    // A length that is not a whole number of super-blocks: the leftover elements are ignored.
                    if (blocks > 0)
                    {
                        AssertSame(reference(w, a, n - 5), dot(w, a, n - 5), $"[{path}] {k} dot, n = {n - 5}, shift {shift}, {fill}");
                    }
                    checkedCount++;
                }
            }
        }
        Assert.True(checkedCount > 0);
    }

    /// <summary>The quantizer's range, on which the fills above rely: Q8_K quants stay in [−127, 127].</summary>
    [Fact]
    public void QuantizeQ8_KNeverProducesMinus128()
    {
        var rng = new Random(5);
        float* x = stackalloc float[256];
        var blk = stackalloc BlockQ8_K[1];
        for (int t = 0; t < 2000; t++)
        {
            float max = (float)((rng.NextDouble() * 2 - 1) * Math.Pow(10, rng.Next(-30, 30)));
            for (int i = 0; i < 256; i++) x[i] = rng.Next(4) == 0 ? max : rng.Next(4) == 0 ? -max : (float)(max * (rng.NextDouble() * 2 - 1));
            QuantizeFormats.Q8_K(x, (byte*)blk, 256);
            for (int i = 0; i < 256; i++) Assert.True(blk->Qs[i] >= -127, $"trial {t}: q[{i}] = {blk->Qs[i]}");
        }
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
