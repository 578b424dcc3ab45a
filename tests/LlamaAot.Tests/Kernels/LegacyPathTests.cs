// Every SIMD path of the legacy dots beyond Q4_0/Q8_0 (Q4_1·Q8_1, Q5_0·Q8_0, Q5_1·Q8_1), their multi-row kernels
// and row-range products, and the fp32 → Q8_1 / Q8_K activation quantizers, against the scalar specs, on each path
// this CPU supports (NEON is never listed on x64). Dots must match bit for bit (a NaN matches any NaN), quantizers
// byte for byte. Block counts cover 1..9, the 8-block scale groups and their neighbours, longer rows; starts are
// shifted by 0..3 bytes; every buffer ends against a PROT_NONE page (GuardedMemory), so a load past a row crashes.
// Contents: random, the extremes (all-0 / all-1 nibbles and high bits against activations ±127), zero, subnormal,
// largest, infinite and NaN scales and mins, and activations made by the real quantizers.
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.Dot;
using LlamaAot.Kernels.MatMul;
using LlamaAot.Kernels.Quants;

using static LlamaAot.Tests.Kernels.KernelTestKit;

namespace LlamaAot.Tests.Kernels;

public unsafe class LegacyPathTests : IDisposable
{
    /// <summary>Paths with dot kernels (no AVX-512 dots: they would not beat AVX2 here).</summary>
    public static TheoryData<string> DotPaths() => PathData("avx2", "v128", "neon");

    public static TheoryData<string> QuantizerPaths() => PathData("avx512", "avx2", "v128", "neon");

    public static TheoryData<string> TiledPaths() => PathData("avx2");

    private static readonly int[] BlockCounts = [1, 2, 3, 7, 8, 9, 15, 16, 17, 33, 64, 65];
    private static readonly int[] Shifts = [0, 1, 2, 3];

    // ---- formats ------------------------------------------------------------------------------------------------

    private enum Kind { Q4_1, Q5_0, Q5_1 }

    private static int WeightBlockBytes(Kind k) => k switch
    {
        Kind.Q4_1 => sizeof(BlockQ4_1),
        Kind.Q5_0 => sizeof(BlockQ5_0),
        _ => sizeof(BlockQ5_1),
    };

    private static bool HasMin(Kind k) => k != Kind.Q5_0;

    /// <summary>Activation block size: Q8_1 for the formats with a minimum, Q8_0 for Q5_0.</summary>
    private static int ActBlockBytes(Kind k) => HasMin(k) ? sizeof(BlockQ8_1) : sizeof(BlockQ8_0);

    private static delegate*<byte*, byte*, int, float> RefOf(Kind k) => k switch
    {
        Kind.Q4_1 => &DotQ4_1Q8_1.Reference,
        Kind.Q5_0 => &DotQ5_0Q8_0.Reference,
        _ => &DotQ5_1Q8_1.Reference,
    };

    private static delegate*<byte*, byte*, int, float> DotOf(string path, Kind k) => (path, k) switch
    {
        ("avx2", Kind.Q4_1) => &DotQ4_1Q8_1.Avx2,
        ("v128", Kind.Q4_1) => &DotQ4_1Q8_1.V128,
        ("neon", Kind.Q4_1) => &DotQ4_1Q8_1.Neon,
        ("avx2", Kind.Q5_0) => &DotQ5_0Q8_0.Avx2,
        ("v128", Kind.Q5_0) => &DotQ5_0Q8_0.V128,
        ("neon", Kind.Q5_0) => &DotQ5_0Q8_0.Neon,
        ("avx2", Kind.Q5_1) => &DotQ5_1Q8_1.Avx2,
        ("v128", Kind.Q5_1) => &DotQ5_1Q8_1.V128,
        ("neon", Kind.Q5_1) => &DotQ5_1Q8_1.Neon,
        _ => throw new ArgumentException(path),
    };

    private static delegate*<byte*, long, byte*, int, float*, void> Rows4Of(string path, Kind k) => (path, k) switch
    {
        ("avx2", Kind.Q4_1) => &DotQ4_1Q8_1.Avx2Rows4,
        ("avx2", Kind.Q5_0) => &DotQ5_0Q8_0.Avx2Rows4,
        ("avx2", Kind.Q5_1) => &DotQ5_1Q8_1.Avx2Rows4,
        _ => throw new ArgumentException(path),
    };

    private static delegate*<MatMulArgs*, int, int, void> GemmOf(string path, Kind k) => (path, k) switch
    {
        ("avx2", Kind.Q4_1) => &DotQ4_1Q8_1.GemmAvx2,
        ("avx2", Kind.Q5_0) => &DotQ5_0Q8_0.GemmAvx2,
        ("avx2", Kind.Q5_1) => &DotQ5_1Q8_1.GemmAvx2,
        _ => throw new ArgumentException(path),
    };

    // ---- contents -----------------------------------------------------------------------------------------------

    private static readonly Fill[] AllFills = [Fill.Random, Fill.Extreme, Fill.ZeroScales, Fill.SpecialScales, Fill.Quantized];


    /// <summary>Weight blocks: fp16 d (and m), then qh/qs bytes; in the extreme fill each block's bytes are all 0x00
    /// (values 0), all 0xff (values 15 or 31), or a random mix of the two.</summary>
    private static void FillWeights(byte* w, int blocks, Kind k, Fill fill, Random rng)
    {
        int bytes = WeightBlockBytes(k);
        int head = HasMin(k) ? 4 : 2;
        for (int b = 0; b < blocks; b++)
        {
            byte* p = w + b * bytes;
            *(ushort*)p = ScaleFor(fill, rng);
            if (HasMin(k)) *(ushort*)(p + 2) = ScaleFor(fill, rng);
            int mode = fill == Fill.Extreme ? rng.Next(3) : 3;
            for (int i = head; i < bytes; i++)
            {
                p[i] = mode switch
                {
                    0 => 0x00,
                    1 => 0xff,
                    2 => rng.Next(2) == 0 ? (byte)0x00 : (byte)0xff,
                    _ => (byte)rng.Next(256),
                };
            }
        }
    }

    /// <summary>Activation blocks (Q8_1 with d and s, or Q8_0): quants in [-127, 127]; ±127 in the extreme fill; made
    /// by QuantizeFormats.Q8_1 / QuantizeQ8_0.Reference from random floats in the quantized fill.</summary>
    private static void FillActivations(byte* a, int blocks, Kind k, Fill fill, Random rng)
    {
        int bytes = ActBlockBytes(k), head = HasMin(k) ? 4 : 2;
        if (fill == Fill.Quantized)
        {
            float* x = stackalloc float[32];
            for (int b = 0; b < blocks; b++)
            {
                double scale = Math.Pow(10, rng.Next(-4, 4));
                for (int i = 0; i < 32; i++) x[i] = (float)((rng.NextDouble() * 2 - 1) * scale);
                if (HasMin(k)) QuantizeFormats.Q8_1(x, a + b * bytes, 32);
                else QuantizeQ8_0.Reference(x, a + b * bytes, 32);
            }
            return;
        }
        for (int b = 0; b < blocks; b++)
        {
            byte* p = a + b * bytes;
            *(ushort*)p = ScaleFor(fill, rng);
            if (HasMin(k)) *(ushort*)(p + 2) = ScaleFor(fill, rng);
            int mode = fill == Fill.Extreme ? rng.Next(3) : 3;
            for (int i = 0; i < 32; i++)
            {
                ((sbyte*)p)[head + i] = mode switch
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
    [MemberData(nameof(DotPaths))]
    public void Q4_1DotMatchesReference(string path) => CheckDots(path, Kind.Q4_1);

    [Theory]
    [MemberData(nameof(DotPaths))]
    public void Q5_0DotMatchesReference(string path) => CheckDots(path, Kind.Q5_0);

    [Theory]
    [MemberData(nameof(DotPaths))]
    public void Q5_1DotMatchesReference(string path) => CheckDots(path, Kind.Q5_1);

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
                    int n = blocks * 32;
                    byte* w = Row(blocks * WeightBlockBytes(k), shift);
                    byte* a = Row(blocks * ActBlockBytes(k), 3 - shift);
                    FillWeights(w, blocks, k, fill, rng);
                    FillActivations(a, blocks, k, fill, rng);
                    AssertSame(reference(w, a, n), dot(w, a, n), $"[{path}] {k} dot, {blocks} blocks, shift {shift}, {fill}");
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
    public void Rows4MatchReference(string path)
    {
        float* y = stackalloc float[4];
        foreach (var k in Enum.GetValues<Kind>())
        {
            var kernel = Rows4Of(path, k);
            var reference = RefOf(k);
            foreach (int blocks in BlockCounts)
            {
                foreach (int shift in Shifts)
                {
                    foreach (var fill in AllFills)
                    {
                        var rng = new Random(Seed(blocks, shift, (int)fill, 4 + (int)k));
                        int n = blocks * 32;
                        long rowBytes = blocks * WeightBlockBytes(k) + shift;
                        byte* w = Row((int)(4 * rowBytes), shift);
                        byte* a = Row(blocks * ActBlockBytes(k), 3 - shift);
                        for (int r = 0; r < 4; r++) FillWeights(w + r * rowBytes, blocks, k, fill, rng);
                        FillActivations(a, blocks, k, fill, rng);
                        kernel(w, rowBytes, a, n, y);
                        for (int r = 0; r < 4; r++)
                        {
                            AssertSame(reference(w + r * rowBytes, a, n), y[r], $"[{path}] {k} Rows4 row {r}, {blocks} blocks, shift {shift}, {fill}");
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
            var gemm = GemmOf(path, k);
            var reference = RefOf(k);
            const int Blocks = 9, Rows = 45;
            int n = Blocks * 32;
            var rng = new Random((int)k);
            long rowBytes = Blocks * WeightBlockBytes(k);
            long actBytes = Blocks * ActBlockBytes(k);
            foreach (int batch in new[] { 1, 3 })
            {
                byte* w = Row((int)(Rows * rowBytes), 1);
                byte* act = Row((int)(batch * actBytes), 2);
                for (int r = 0; r < Rows; r++) FillWeights(w + r * rowBytes, Blocks, k, Fill.Random, rng);
                for (int b = 0; b < batch; b++) FillActivations(act + b * actBytes, Blocks, k, Fill.Quantized, rng);
                const long YStride = Rows + 3;
                float* y = (float*)Row((int)(batch * YStride * sizeof(float)), 0);
                var m = new MatMulArgs
                {
                    W = w, RowBytes = rowBytes, Rows = Rows, Cols = n,
                    Act = act, ActRowBytes = actBytes, Batch = batch, Y = y, YStride = YStride, Dot = reference,
                };
                CheckGemmRanges(m, gemm, reference, [(0, Rows), (4, 40), (3, 3), (13, 45), (0, 16), (8, 31)], $"[{path}] {k} gemm");
            }
        }
    }

    /// <summary>The AVX-512 path's products: decode by the emitted four-row kernels (Jit/VnniDecode.EmitLegacy) on rows a
    /// quarter of the range apart, the leftover rows by the dot; prompts by the emitted Q8_0 tile on sixteen rows and
    /// two activation rows a call (LegacyTiles), the rest by the four-row AVX2 kernel. Every weight fill (extreme
    /// quants, zero and special scales and mins) against activations of the same fill (special d and s) and quantized
    /// ones; rows of 1, 8, 9 and 176 blocks; batches 1, 2, 3 and 9 (and 137 at 8 blocks: two batch tiles); ranges with
    /// and without leftovers. Every output is the Reference's bits, nothing outside the range is written.</summary>
    [Fact]
    public void EmittedKernelsMatchReference()
    {
        Assert.True(LlamaAot.Kernels.Jit.VnniDecode.Available && LlamaAot.Kernels.Jit.VnniTiles.Available,
            "this test needs the AVX-512 VNNI machine CI runs on");
        foreach (var k in Enum.GetValues<Kind>())
        {
            delegate*<MatMulArgs*, int, int, void> gemm = k switch
            {
                Kind.Q4_1 => &DotQ4_1Q8_1.GemmAvx512Vnni,
                Kind.Q5_0 => &DotQ5_0Q8_0.GemmAvx512Vnni,
                _ => &DotQ5_1Q8_1.GemmAvx512Vnni,
            };
            var reference = RefOf(k);
            const int Rows = 45;
            var rng = new Random(17 + (int)k);
            foreach (int blocks in new[] { 1, 8, 9, 176 })
            {
                int n = blocks * 32;
                long rowBytes = blocks * WeightBlockBytes(k), actBytes = blocks * ActBlockBytes(k);
                foreach (int batch in blocks == 8 ? new[] { 1, 2, 3, 9, 137 } : new[] { 1, 2, 3, 9 })
                {
                    foreach (var fill in AllFills)
                    {
                        foreach (var actFill in new[] { fill, Fill.Quantized })
                        {
                            byte* w = Row((int)(Rows * rowBytes), 1);
                            byte* act = Row((int)(batch * actBytes), 2);
                            for (int r = 0; r < Rows; r++) FillWeights(w + r * rowBytes, blocks, k, fill, rng);
                            for (int b = 0; b < batch; b++) FillActivations(act + b * actBytes, blocks, k, actFill, rng);
                            const long YStride = Rows + 3;
                            float* y = (float*)Row((int)(batch * YStride * sizeof(float)), 0);
                            var m = new MatMulArgs
                            {
                                W = w, RowBytes = rowBytes, Rows = Rows, Cols = n, Act = act, ActRowBytes = actBytes, Batch = batch,
                                Y = y, YStride = YStride, Dot = reference,
                            };
                            CheckGemmRanges(m, gemm, reference, [(0, Rows), (4, 40), (3, 3), (13, 45), (0, 16), (8, 31), (2, 5)],
                                $"[avx512-vnni] {k} {blocks} blocks batch {batch} {fill}/{actFill}");
                        }
                    }
                }
            }
        }
    }

    // ---- quantizers ----------------------------------------------------------------------------------------------

    private static delegate*<float*, byte*, int, void> Q8_1Of(string path) => path switch
    {
        "avx512" => &QuantizeFormats.Q8_1Avx512,
        "avx2" => &QuantizeFormats.Q8_1Avx2,
        "v128" => &QuantizeFormats.Q8_1V128,
        "neon" => &QuantizeFormats.Q8_1Neon,
        _ => throw new ArgumentException(path),
    };

    private static delegate*<float*, byte*, int, void> Q8_KOf(string path) => path switch
    {
        "avx512" => &QuantizeFormats.Q8_KAvx512,
        "avx2" => &QuantizeFormats.Q8_KAvx2,
        "v128" => &QuantizeFormats.Q8_KV128,
        "neon" => &QuantizeFormats.Q8_KNeon,
        _ => throw new ArgumentException(path),
    };

    [Theory]
    [MemberData(nameof(QuantizerPaths))]
    public void QuantizeQ8_1MatchesReferenceByteForByte(string path) =>
        CheckQuantizer(path, Q8_1Of(path), &QuantizeFormats.Q8_1, BlockQ8_1.QK, sizeof(BlockQ8_1), BlockCounts);

    [Theory]
    [MemberData(nameof(QuantizerPaths))]
    public void QuantizeQ8_KMatchesReferenceByteForByte(string path) =>
        CheckQuantizer(path, Q8_KOf(path), &QuantizeFormats.Q8_K, BlockQ8_K.QK, sizeof(BlockQ8_K), [1, 2, 3, 7, 8, 9]);

    private const int Patterns = 11;

    private void CheckQuantizer(string path, delegate*<float*, byte*, int, void> quantize, delegate*<float*, byte*, int, void> reference,
        int qk, int blockBytes, int[] blockCounts)
    {
        foreach (int blocks in blockCounts.Append(0))
        {
            foreach (int shift in Shifts)
            {
                for (int pattern = 0; pattern < Patterns; pattern++)
                {
                    var rng = new Random(Seed(blocks, shift, pattern, qk));
                    int n = blocks * qk;
                    float* x = (float*)Row(n * sizeof(float), shift * sizeof(float));
                    for (int i = 0; i < n; i++) x[i] = Value(pattern, i, qk, rng);
                    int outBytes = blocks * blockBytes;
                    byte* want = Row(outBytes, 0);
                    byte* got = Row(outBytes, shift);
                    for (int i = 0; i < outBytes; i++)
                    {
                        want[i] = 0x00;
                        got[i] = 0xcd;   // bytes a kernel forgets to write show up
                    }
                    reference(x, want, n);
                    quantize(x, got, n);
                    for (int i = 0; i < outBytes; i++)
                    {
                        if (want[i] != got[i])
                        {
                            Assert.Fail($"[{path}] quantize QK {qk} pattern {pattern}, {blocks} blocks, shift {shift}: byte {i} (block {i / blockBytes}, offset {i % blockBytes}) expected 0x{want[i]:x2} got 0x{got[i]:x2}");
                        }
                    }
                }
            }
        }
    }

    /// <summary>Quantizer inputs (qk values a block): 0 random with per-block magnitudes 1e-30..1e30; 1 exact ties
    /// (amax 127 makes the scale 1, so x.5 rounds half to even); 2 mostly zero blocks with ±0 and one value;
    /// 3 subnormal and tiny magnitudes (the inverse scale overflows); 4 ±amax extremes repeated (the first one sets
    /// Q8_K's sign); 5 activation-like values around 1; 6 the same with an occasional ±inf or NaN; 7 blocks of NaN and
    /// ±0 only, or NaN with one finite value; 8 huge values near float.MaxValue with an occasional ±inf; 9 a single
    /// ±inf in a block of finite values; 10 whole blocks below 2^-121 (with zeros), where the inverse scale is infinite
    /// and the quants come from ±inf or NaN products (some NaN inputs with payloads, which nearest_int turns into values).</summary>
    private static float Value(int pattern, int i, int qk, Random rng)
    {
        int j = i % qk, block = i / qk;
        switch (pattern)
        {
            case 0:
                return (float)((rng.NextDouble() * 2 - 1) * Math.Pow(10, (block * 7 % 61) - 30));
            case 1:
                if (j == 0) return block % 2 == 0 ? 127f : -127f;
                return (rng.Next(-127, 127) + 0.5f) * (rng.Next(2) == 0 ? 1 : -1);
            case 2:
                if (block % 3 == 0) return j % 2 == 0 ? 0f : -0f;
                return j == 7 ? (float)(rng.NextDouble() - 0.5) : (j % 2 == 0 ? 0f : -0f);
            case 3:
                return (float)((rng.NextDouble() * 2 - 1) * Math.Pow(2, -126 - block % 10 + rng.Next(20)));
            case 4:
                return rng.Next(3) switch { 0 => 3.5f, 1 => -3.5f, _ => (float)(rng.NextDouble() * 7 - 3.5) };
            case 5:
                return (float)(rng.NextDouble() * 4 - 2);
            case 6:
                return rng.Next(40) switch
                {
                    0 => float.PositiveInfinity,
                    1 => float.NegativeInfinity,
                    2 => float.NaN,
                    _ => (float)(rng.NextDouble() * 4 - 2),
                };
            case 7:
                if (block % 2 == 0) return rng.Next(3) == 0 ? float.NaN : (rng.Next(2) == 0 ? 0f : -0f);
                return j == qk / 2 + 3 ? -1.25f : float.NaN;
            case 8:
                return rng.Next(50) switch
                {
                    0 => float.PositiveInfinity,
                    1 => float.NegativeInfinity,
                    _ => (float)((rng.NextDouble() * 2 - 1) * float.MaxValue),
                };
            case 10:
                if (rng.Next(16) == 0) return BitConverter.Int32BitsToSingle((rng.Next(2) << 31) | 0x7fc00000 | rng.Next(0x400000));
                return rng.Next(8) == 0 ? 0f : (float)((rng.NextDouble() * 2 - 1) * Math.Pow(2, -122 - block % 20));
            default:
                if (j == (block * 13) % qk) return block % 2 == 0 ? float.PositiveInfinity : float.NegativeInfinity;
                return (float)(rng.NextDouble() * 4 - 2);
        }
    }

    // ---- comparisons --------------------------------------------------------------------------------------------

    // ---- guard-paged buffers ------------------------------------------------------------------------------------

    private readonly GuardedMemory _memory = new();

    private byte* Row(int bytes, int slack) => _memory.Bytes(bytes, slack);

    public void Dispose()
    {
        _memory.Dispose();
        GC.SuppressFinalize(this);
    }
}
