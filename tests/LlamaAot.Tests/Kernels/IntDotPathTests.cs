// Every SIMD path of the integer dots (Q8_0·Q8_0, Q4_0·Q8_0 in both of its specs), their multi-row kernels and
// row-range products, and the fp32 → Q8_0 activation quantizer, against the scalar Reference, on each path this CPU
// supports (NEON is never listed on x64). Exactness: the specs fix the arithmetic, so dots must match bit for bit
// (a NaN matches any NaN: which payload an fma propagates depends on operand order) and the quantizer byte for byte.
// Block counts cover 1..9, the 64-block scale chunk and its neighbours, and real row lengths; starts are shifted by
// 0..3 bytes; every buffer ends against a PROT_NONE page (Linux), so a load one byte past a row crashes the run.
// Contents: random, the extremes (weights -128/127 or nibbles 0/15 against activations ±127), zero, subnormal,
// largest, infinite and NaN scales, and activations made by the quantizer itself.
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.Dot;
using LlamaAot.Kernels.MatMul;
using LlamaAot.Kernels.Jit;
using LlamaAot.Kernels.Quants;

using static LlamaAot.Tests.Kernels.KernelTestKit;

namespace LlamaAot.Tests.Kernels;

public unsafe class IntDotPathTests : IDisposable
{
    public static TheoryData<string> Paths() => PathData("avx512", "avx2", "v128", "neon");

    /// <summary>Paths with multi-row kernels and row-range products.</summary>
    public static TheoryData<string> TiledPaths() => PathData("avx512", "avx2");

    private static readonly int[] BlockCounts = [1, 2, 3, 7, 8, 9, 15, 16, 17, 33, 63, 64, 65, 130, 176];
    private static readonly int[] Shifts = [0, 1, 2, 3];

    // ---- kernels by path ----------------------------------------------------------------------------------------

    private enum Kind { Q8_0, Q4_0, Q4_0Blockwise }

    private static int WeightBlockBytes(Kind k) => k == Kind.Q8_0 ? sizeof(BlockQ8_0) : sizeof(BlockQ4_0);

    private static delegate*<byte*, byte*, int, float> RefOf(Kind k) => k switch
    {
        Kind.Q8_0 => &DotQ8_0Q8_0.Reference,
        Kind.Q4_0 => &DotQ4_0Q8_0.Reference,
        _ => &DotQ4_0Q8_0.ReferenceBlockwise,
    };

    private static delegate*<byte*, byte*, int, float> DotOf(string path, Kind k) => (path, k) switch
    {
        ("avx512", Kind.Q8_0) => &DotQ8_0Q8_0.Avx512,
        ("avx2", Kind.Q8_0) => &DotQ8_0Q8_0.Avx2,
        ("v128", Kind.Q8_0) => &DotQ8_0Q8_0.V128,
        ("neon", Kind.Q8_0) => &DotQ8_0Q8_0.Neon,
        ("avx512", Kind.Q4_0) => &DotQ4_0Q8_0.Avx512,
        ("avx2", Kind.Q4_0) => &DotQ4_0Q8_0.Avx2,
        ("v128", Kind.Q4_0) => &DotQ4_0Q8_0.V128,
        ("neon", Kind.Q4_0) => &DotQ4_0Q8_0.Neon,
        ("avx512", Kind.Q4_0Blockwise) => &DotQ4_0Q8_0.Avx512Blockwise,
        ("avx2", Kind.Q4_0Blockwise) => &DotQ4_0Q8_0.Avx2Blockwise,
        ("v128", Kind.Q4_0Blockwise) => &DotQ4_0Q8_0.V128Blockwise,
        ("neon", Kind.Q4_0Blockwise) => &DotQ4_0Q8_0.NeonBlockwise,
        _ => throw new ArgumentException(path),
    };

    /// <summary>The multi-row kernels of a path: (name, rows per call, kernel).</summary>
    private static (string Name, int Rows, nint Fn)[] RowKernelsOf(string path, Kind k) => (path, k) switch
    {
        ("avx512", Kind.Q8_0) => [("Avx512Rows4", 4, (nint)(delegate*<byte*, long, byte*, int, float*, void>)&DotQ8_0Q8_0.Avx512Rows4)],
        ("avx2", Kind.Q8_0) => [("Avx2Rows4", 4, (nint)(delegate*<byte*, long, byte*, int, float*, void>)&DotQ8_0Q8_0.Avx2Rows4)],
        ("avx512", Kind.Q4_0) => [("Avx512Rows4", 4, (nint)(delegate*<byte*, long, byte*, int, float*, void>)&DotQ4_0Q8_0.Avx512Rows4)],
        ("avx2", Kind.Q4_0) => [("Avx2Rows4", 4, (nint)(delegate*<byte*, long, byte*, int, float*, void>)&DotQ4_0Q8_0.Avx2Rows4)],
        ("avx512", Kind.Q4_0Blockwise) => [("Avx512BlockwiseRows16", 16, (nint)(delegate*<byte*, long, byte*, int, float*, void>)&DotQ4_0Q8_0.Avx512BlockwiseRows16)],
        ("avx2", Kind.Q4_0Blockwise) => [("Avx2BlockwiseRows8", 8, (nint)(delegate*<byte*, long, byte*, int, float*, void>)&DotQ4_0Q8_0.Avx2BlockwiseRows8)],
        _ => [],
    };

    /// <summary>The row-range products of a path: GemmOf's, and for the AVX-512 Q8_0 spec and Q4_0 blockwise spec also
    /// the one whose prompt tiles run emitted vpdpbusd code, where this CPU has VNNI.</summary>
    private static nint[] GemmsOf(string path, Kind k) => (path, k, VnniTiles.Available) switch
    {
        ("avx512", Kind.Q8_0, true) => [(nint)GemmOf(path, k), (nint)(delegate*<MatMulArgs*, int, int, void>)&DotQ8_0Q8_0.GemmAvx512Vnni],
        ("avx512", Kind.Q4_0Blockwise, true) => [(nint)GemmOf(path, k), (nint)(delegate*<MatMulArgs*, int, int, void>)&DotQ4_0Q8_0.GemmAvx512VnniBlockwise],
        _ => [(nint)GemmOf(path, k)],
    };

    private static delegate*<MatMulArgs*, int, int, void> GemmOf(string path, Kind k) => (path, k) switch
    {
        ("avx512", Kind.Q8_0) => &DotQ8_0Q8_0.GemmAvx512,
        ("avx2", Kind.Q8_0) => &DotQ8_0Q8_0.GemmAvx2,
        ("avx512", Kind.Q4_0) => &DotQ4_0Q8_0.GemmAvx512,
        ("avx2", Kind.Q4_0) => &DotQ4_0Q8_0.GemmAvx2,
        ("avx512", Kind.Q4_0Blockwise) => &DotQ4_0Q8_0.GemmAvx512Blockwise,
        ("avx2", Kind.Q4_0Blockwise) => &DotQ4_0Q8_0.GemmAvx2Blockwise,
        _ => throw new ArgumentException(path),
    };

    private static delegate*<float*, byte*, int, void> QuantizerOf(string path) => path switch
    {
        "avx512" => &QuantizeQ8_0.Avx512,
        "avx2" => &QuantizeQ8_0.Avx2,
        "v128" => &QuantizeQ8_0.V128,
        "neon" => &QuantizeQ8_0.Neon,
        _ => throw new ArgumentException(path),
    };

    // ---- contents -----------------------------------------------------------------------------------------------

    private static readonly Fill[] AllFills = [Fill.Random, Fill.Extreme, Fill.ZeroScales, Fill.SpecialScales, Fill.Quantized];


    /// <summary>Weight blocks of kind k; in the extreme fill each block is all -128 / all 127 (Q8_0) or all nibble 0 /
    /// 15 (Q4_0), or a random mix of those.</summary>
    private static void FillWeights(byte* w, int blocks, Kind k, Fill fill, Random rng)
    {
        int bytes = WeightBlockBytes(k), qs = bytes - 2;
        for (int b = 0; b < blocks; b++)
        {
            byte* p = w + b * bytes;
            *(ushort*)p = ScaleFor(fill, rng);
            int mode = fill == Fill.Extreme ? rng.Next(3) : 3;
            for (int i = 0; i < qs; i++)
            {
                byte lo = k == Kind.Q8_0 ? (byte)0x80 : (byte)0x00;   // -128, or nibbles 0 (weight -8)
                byte hi = k == Kind.Q8_0 ? (byte)0x7f : (byte)0xff;   // 127, or nibbles 15 (weight 7)
                p[2 + i] = mode switch
                {
                    0 => lo,
                    1 => hi,
                    2 => rng.Next(2) == 0 ? lo : hi,
                    _ => (byte)rng.Next(256),
                };
            }
        }
    }

    /// <summary>Q8_0 activation blocks: quants in [-127, 127] (QuantizeQ8_0's range); ±127 in the extreme fill;
    /// produced by QuantizeQ8_0.Reference from random floats in the quantized fill.</summary>
    private static void FillActivations(byte* a, int blocks, Fill fill, Random rng)
    {
        if (fill == Fill.Quantized)
        {
            float* x = stackalloc float[BlockQ8_0.QK];
            for (int b = 0; b < blocks; b++)
            {
                double scale = Math.Pow(10, rng.Next(-4, 4));
                for (int i = 0; i < BlockQ8_0.QK; i++) x[i] = (float)((rng.NextDouble() * 2 - 1) * scale);
                QuantizeQ8_0.Reference(x, a + b * sizeof(BlockQ8_0), BlockQ8_0.QK);
            }
            return;
        }
        for (int b = 0; b < blocks; b++)
        {
            byte* p = a + b * sizeof(BlockQ8_0);
            *(ushort*)p = ScaleFor(fill, rng);
            int mode = fill == Fill.Extreme ? rng.Next(3) : 3;
            for (int i = 0; i < BlockQ8_0.QK; i++)
            {
                ((sbyte*)p)[2 + i] = mode switch
                {
                    0 => -127,
                    1 => 127,
                    2 => (sbyte)(rng.Next(2) == 0 ? -127 : 127),
                    _ => (sbyte)rng.Next(-127, 128),
                };
            }
        }
    }

    // ---- single-row dots ----------------------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(Paths))]
    public void Q8_0DotMatchesReference(string path) => CheckDots(path, Kind.Q8_0);

    [Theory]
    [MemberData(nameof(Paths))]
    public void Q4_0DotMatchesReference(string path) => CheckDots(path, Kind.Q4_0);

    [Theory]
    [MemberData(nameof(Paths))]
    public void Q4_0BlockwiseDotMatchesReferenceBlockwise(string path) => CheckDots(path, Kind.Q4_0Blockwise);

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
                    int n = blocks * BlockQ8_0.QK;
                    byte* w = Row(blocks * WeightBlockBytes(k), shift);
                    byte* a = Row(blocks * sizeof(BlockQ8_0), 3 - shift);
                    FillWeights(w, blocks, k, fill, rng);
                    FillActivations(a, blocks, fill, rng);
                    AssertSame(reference(w, a, n), dot(w, a, n), $"[{path}] {k} dot, {blocks} blocks, shift {shift}, {fill}");
                    // A length that is not a whole number of blocks: the leftover elements are ignored by the spec.
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

    // ---- multi-row kernels and row-range products ---------------------------------------------------------------

    [Theory]
    [MemberData(nameof(TiledPaths))]
    public void Q8_0RowKernelsMatchReference(string path) => CheckRowKernels(path, Kind.Q8_0);

    [Theory]
    [MemberData(nameof(TiledPaths))]
    public void Q4_0RowKernelsMatchReference(string path) => CheckRowKernels(path, Kind.Q4_0);

    [Theory]
    [MemberData(nameof(TiledPaths))]
    public void Q4_0BlockwiseRowKernelsMatchReferenceBlockwise(string path) => CheckRowKernels(path, Kind.Q4_0Blockwise);

    private void CheckRowKernels(string path, Kind k)
    {
        var reference = RefOf(k);
        float* y = stackalloc float[16];
        foreach (var (name, rows, fn) in RowKernelsOf(path, k))
        {
            var kernel = (delegate*<byte*, long, byte*, int, float*, void>)fn;
            foreach (int blocks in BlockCounts)
            {
                foreach (int shift in Shifts)
                {
                    foreach (var fill in AllFills)
                    {
                        var rng = new Random(Seed(blocks, shift, (int)fill, rows));
                        int n = blocks * BlockQ8_0.QK;
                        // Rows padded by `shift` bytes: row starts drift across alignments as well.
                        long rowBytes = blocks * WeightBlockBytes(k) + shift;
                        byte* w = Row((int)(rows * rowBytes), shift);
                        byte* a = Row(blocks * sizeof(BlockQ8_0), 3 - shift);
                        for (int r = 0; r < rows; r++) FillWeights(w + r * rowBytes, blocks, k, fill, rng);
                        FillActivations(a, blocks, fill, rng);
                        kernel(w, rowBytes, a, n, y);
                        for (int r = 0; r < rows; r++)
                        {
                            AssertSame(reference(w + r * rowBytes, a, n), y[r], $"[{path}] {k} {name} row {r}, {blocks} blocks, shift {shift}, {fill}");
                        }
                    }
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(TiledPaths))]
    public void GemmMatchesReferenceForEveryRangeAndBatch(string path)
    {
        foreach (var k in Enum.GetValues<Kind>())
        {
            var reference = RefOf(k);
            // 16 and 24 blocks: the decode kernels that work a group of eight blocks at a time (batch 137: the batch
            // kernels' two batch tiles of 128 and 9 rows, the row kernels' three of 64); 176: tinyllama's ffn_down,
            // whose Q8_0 VNNI terms fit IntGemm's state for 80 activation rows; 264: a tile buffer past 128 KiB, and
            // Q8_0 terms that fit it only for 48 activation rows (batch 70: two batch tiles);
            // 520: rows too long for the Q4_0 and Q8_0 prompt tiles, which then take Rows16 / Tile4 (batch 13: Q4_0
            // takes a tile of eight activation rows, one of four and a leftover row; Q8_0 six pairs and a leftover row).
            // Batch 1 of 176, 264 and 520 blocks: long rows, which Q4_0's emitted decode takes four at a time.
            // Q4_0's emitted prompt tiles take 32 rows up to 256 blocks, then 16 (range (2, 53): one of each and three
            // single rows; 264 and 520 blocks: 16-row tiles only).
            foreach (int blocks in new[] { 9, 16, 24, 176, 264, 520 })
            {
                const int Rows = 53;
                int n = blocks * BlockQ8_0.QK;
                var rng = new Random((int)k);
                long rowBytes = blocks * WeightBlockBytes(k);
                long actBytes = blocks * sizeof(BlockQ8_0);
                foreach (int batch in blocks == 264 ? new[] { 1, 13, 70 } : blocks > 100 ? new[] { 1, 13 } : new[] { 1, 3, 4, 9, 70, 137 })
                {
                    byte* w = Row((int)(Rows * rowBytes), 1);
                    byte* act = Row((int)(batch * actBytes), 2);
                    // Decode (batch 1) gets special weight scales too (subnormal, infinite, NaN fp16): its row kernels
                    // convert them in their own ways (vpermt2b and integer arithmetic, vcvtph2ps in emitted code).
                    // Long rows get them in every fifth row only: a row with one NaN scale among its hundreds of blocks
                    // is NaN whatever the kernel does with the rest.
                    for (int r = 0; r < Rows; r++)
                    {
                        bool special = batch == 1 && (blocks < 100 || r % 5 == 0);
                        FillWeights(w + r * rowBytes, blocks, k, special ? Fill.SpecialScales : Fill.Random, rng);
                    }
                    // Odd batches get extreme activations (all ±127, the int16 sums' limits), even ones the quantizer's.
                    var actFill = batch % 2 == 1 ? Fill.Extreme : Fill.Quantized;
                    for (int b = 0; b < batch; b++) FillActivations(act + b * actBytes, blocks, actFill, rng);
                    const long YStride = Rows + 3;
                    float* y = (float*)Row((int)(batch * YStride * sizeof(float)), 0);
                    var m = new MatMulArgs
                    {
                        W = w, RowBytes = rowBytes, Rows = Rows, Cols = n,
                        Act = act, ActRowBytes = actBytes, Batch = batch, Y = y, YStride = YStride, Dot = reference,
                    };
                    foreach (nint gemm in GemmsOf(path, k))
                    {
                        CheckGemmRanges(m, (delegate*<MatMulArgs*, int, int, void>)gemm, reference, [(0, Rows), (4, 40), (3, 3), (13, 45), (0, 16), (8, 31), (2, 53)],
                            $"[{path}] {k} gemm 0x{gemm:x} {blocks} blocks,");
                    }
                }
            }
        }
    }

    [Fact]
    public void VnniTilesAreEmittedWhereTheCpuHasVnni()
    {
        // Not a check of the CPU but of the emitter and the executable mapping: with VNNI present (and not switched
        // off) the emitted tiles must be in place, or the prompt path silently loses them.
        bool wanted = VnniTiles.CpuHasVnni && Environment.GetEnvironmentVariable("LLAMA_AOT_VNNI") != "0";
        Assert.Equal(wanted, VnniTiles.Available);
        Assert.Equal(VnniDecode.CpuSupports && wanted, VnniDecode.Available);
    }

    // ---- quantizer ----------------------------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(Paths))]
    public void QuantizeQ8_0MatchesReferenceByteForByte(string path)
    {
        var quantize = QuantizerOf(path);
        foreach (int blocks in BlockCounts.Append(0))
        {
            foreach (int shift in Shifts)
            {
                foreach (int pattern in Enumerable.Range(0, 7))
                {
                    var rng = new Random(Seed(blocks, shift, pattern, 0));
                    int n = blocks * BlockQ8_0.QK;
                    float* x = (float*)Row(n * sizeof(float), shift * sizeof(float));
                    for (int i = 0; i < n; i++) x[i] = Value(pattern, i, rng);
                    int outBytes = blocks * sizeof(BlockQ8_0);
                    byte* want = Row(outBytes, 0);
                    byte* got = Row(outBytes, shift);
                    QuantizeQ8_0.Reference(x, want, n);
                    quantize(x, got, n);
                    for (int i = 0; i < outBytes; i++)
                    {
                        if (want[i] != got[i])
                        {
                            Assert.Fail($"[{path}] quantize pattern {pattern}, {blocks} blocks, shift {shift}: byte {i} (block {i / sizeof(BlockQ8_0)}) expected 0x{want[i]:x2} got 0x{got[i]:x2}");
                        }
                    }
                }
            }
        }
    }

    /// <summary>Quantizer inputs: 0 random with per-block magnitudes 1e-30..1e30; 1 exact ties (amax 127 makes
    /// id = 1, so x.5 rounds half to even); 2 mostly zero blocks with ±0 and one value; 3 subnormal and tiny
    /// magnitudes (127/amax overflows below 2^-121); 4 ±amax extremes; 5 activation-like values around 1; 6 the same
    /// with an occasional ±inf or NaN.</summary>
    private static float Value(int pattern, int i, Random rng)
    {
        int j = i % BlockQ8_0.QK;
        switch (pattern)
        {
            case 0:
                return (float)((rng.NextDouble() * 2 - 1) * Math.Pow(10, ((i / BlockQ8_0.QK) * 7 % 61) - 30));
            case 1:
                if (j == 0) return (i / BlockQ8_0.QK) % 2 == 0 ? 127f : -127f;
                return (rng.Next(-127, 127) + 0.5f) * (rng.Next(2) == 0 ? 1 : -1);
            case 2:
                if ((i / BlockQ8_0.QK) % 3 == 0) return j % 2 == 0 ? 0f : -0f;
                return j == 7 ? (float)(rng.NextDouble() - 0.5) : (j % 2 == 0 ? 0f : -0f);
            case 3:
                return (float)((rng.NextDouble() * 2 - 1) * Math.Pow(2, -126 - (i / BlockQ8_0.QK) % 10 + rng.Next(20)));
            case 4:
                return rng.Next(3) switch { 0 => 3.5f, 1 => -3.5f, _ => (float)(rng.NextDouble() * 7 - 3.5) };
            case 5:
                return (float)(rng.NextDouble() * 4 - 2);
            default:
                return rng.Next(40) switch
                {
                    0 => float.PositiveInfinity,
                    1 => float.NegativeInfinity,
                    2 => float.NaN,
                    _ => (float)(rng.NextDouble() * 4 - 2),
                };
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
