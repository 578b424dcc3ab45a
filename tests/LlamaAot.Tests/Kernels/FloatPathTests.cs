// Every SIMD path of the float kernels (F32/F16/BF16 dots, F16/BF16 row conversions, SiluMul, Add, Softmax, RmsNorm,
// flash attention) against its scalar Reference, on each path this CPU supports (a path whose ISA is missing is not
// listed; NEON never is on x64). Lengths 0..256 and a few large ones, starts shifted by 0..3 elements, and buffers
// whose last element abuts a PROT_NONE page (Linux), so a SIMD tail that reads one element too far crashes the run.
// Exactness: bit for bit wherever the spec fixes the arithmetic (NaN compares equal to NaN: which NaN payload an
// fma propagates depends on operand order), KernelTolerances elsewhere.
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.Dot;
using LlamaAot.Kernels.Jit;
using LlamaAot.Kernels.Ops;
using LlamaAot.Kernels.Quants;

using static LlamaAot.Tests.Kernels.KernelTestKit;

namespace LlamaAot.Tests.Kernels;

public unsafe class FloatPathTests : IDisposable
{
    public static TheoryData<string> Paths() => PathData("avx512", "avx2", "v128", "neon");

    /// <summary>0..256 (every tail and step boundary of every width), then sizes of real rows.</summary>
    private static IEnumerable<int> Lengths() =>
        Enumerable.Range(0, 257).Concat([319, 320, 511, 512, 513, 1000, 2048, 4099, 5632]);

    // ---- kernels by path ----------------------------------------------------------------------------------------

    private enum FloatType { F32, F16, BF16 }

    private static delegate*<byte*, byte*, int, float> DotOf(string path, FloatType t)
    {
        if (t == FloatType.F32)
        {
            if (path == "avx512") return &DotF32F32.Avx512;
            if (path == "avx2") return &DotF32F32.Avx2;
            if (path == "v128") return &DotF32F32.V128;
            if (path == "neon") return &DotF32F32.Neon;
            return &DotF32F32.Reference;
        }
        if (t == FloatType.F16)
        {
            if (path == "avx512") return &DotF16F16.Avx512;
            if (path == "avx2") return &DotF16F16.Avx2;
            if (path == "v128") return &DotF16F16.V128;
            if (path == "neon") return &DotF16F16.Neon;
            return &DotF16F16.Reference;
        }
        if (path == "avx512") return &DotBF16BF16.Avx512;
        if (path == "avx2") return &DotBF16BF16.Avx2;
        if (path == "v128") return &DotBF16BF16.V128;
        if (path == "neon") return &DotBF16BF16.Neon;
        return &DotBF16BF16.Reference;
    }

    private static delegate*<byte*, byte*, int, float> RefDotOf(FloatType t) => DotOf("reference", t);

    private static delegate*<float*, byte*, int, void> ToF16Of(string path) => path switch
    {
        "avx512" => &ConvertRow.ToF16Avx512,
        "avx2" => &ConvertRow.ToF16Avx2,
        "v128" or "neon" => &ConvertRow.ToF16V128,
        _ => &ConvertRow.ToF16,
    };

    private static delegate*<float*, byte*, int, void> ToBF16Of(string path) => path switch
    {
        "avx512" => &ConvertRow.ToBF16Avx512,
        "avx2" => &ConvertRow.ToBF16Avx2,
        "v128" or "neon" => &ConvertRow.ToBF16V128,
        _ => &ConvertRow.ToBF16,
    };

    private static delegate*<byte*, float*, int, void> FromF16Of(string path) => path switch
    {
        "avx512" => &Dequantize.F16Avx512,
        "avx2" => &Dequantize.F16Avx2,
        "v128" or "neon" => &Dequantize.F16V128,
        _ => &Dequantize.F16,
    };

    private static delegate*<byte*, float*, int, void> FromBF16Of(string path) => path switch
    {
        "avx512" => &Dequantize.BF16Avx512,
        "avx2" => &Dequantize.BF16Avx2,
        "v128" or "neon" => &Dequantize.BF16V128,
        _ => &Dequantize.BF16,
    };

    private static delegate*<float*, float*, int, void> SiluMulOf(string path) => path switch
    {
        "avx512" => &SiluMul.Avx512,
        "avx2" => &SiluMul.Avx2,
        "v128" => &SiluMul.V128,
        "neon" => &SiluMul.Neon,
        _ => &SiluMul.Reference,
    };

    private static delegate*<float*, float*, int, void> AddOf(string path) => path switch
    {
        "avx512" => &Add.Avx512,
        "avx2" => &Add.Avx2,
        "v128" => &Add.V128,
        "neon" => &Add.Neon,
        _ => &Add.Reference,
    };

    private static delegate*<float*, int, void> SoftmaxOf(string path) => path switch
    {
        "avx512" => &Softmax.Avx512,
        "avx2" => &Softmax.Avx2,
        "v128" => &Softmax.V128,
        "neon" => &Softmax.Neon,
        _ => &Softmax.Reference,
    };

    private static delegate*<float*, float*, float*, int, float, void> RmsNormOf(string path) => path switch
    {
        "avx512" => &RmsNorm.Avx512,
        "avx2" => &RmsNorm.Avx2,
        "v128" => &RmsNorm.V128,
        "neon" => &RmsNorm.Neon,
        _ => &RmsNorm.Reference,
    };

    private static delegate*<AttentionArgs*, void> AttentionOf(string path) => path switch
    {
        "avx512" => &FlashAttention.Avx512,
        "avx512-intrinsic" => &FlashAttention.Avx512Intrinsic,
        "avx2" => &FlashAttention.Avx2,
        "v128" or "neon" => &FlashAttention.V128,
        _ => &FlashAttention.Reference,
    };

    // ---- float dots ---------------------------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(Paths))]
    public void Float_dots_equal_reference_bit_for_bit(string path)
    {
        var rng = new Random(1234);
        int orderSensitive = 0, compared = 0;
        foreach (var type in new[] { FloatType.F32, FloatType.F16, FloatType.BF16 })
        {
            var dot = DotOf(path, type);
            var reference = RefDotOf(type);
            int size = type == FloatType.F32 ? 4 : 2;
            foreach (int n in Lengths())
            {
                for (int shift = 0; shift < 4; shift++)
                {
                    // One operand ends flush with the guard page, the other `shift` elements before it.
                    byte* w = Row(n, size, shift);
                    byte* a = Row(n, size, 3 - shift);
                    FillWide(rng, type, w, n);
                    FillWide(rng, type, a, n);
                    float want = reference(w, a, n), got = dot(w, a, n);
                    AssertSame(want, got, $"{path} Dot{type} n={n} shift={shift}");
                    if (path == "avx512" && type == FloatType.F32)
                    {
                        AssertSame(want, DotF32F32.Avx512Zmm(w, a, n), $"avx512 DotF32.Avx512Zmm n={n} shift={shift}");
                    }
                    if (n >= 128)
                    {
                        compared++;
                        if (Naive(type, w, a, n) != want) orderSensitive++;
                    }
                }
            }
        }
        // The data must be able to tell summation orders apart, or bit-exactness above would prove little.
        Assert.True(orderSensitive > compared / 2, $"only {orderSensitive} of {compared} dots depend on the summation order");
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Half_dots_with_subnormals_infinities_and_nans_equal_reference(string path)
    {
        var rng = new Random(99);
        ushort[] specials = [0x0000, 0x8000, 0x0001, 0x8001, 0x03ff, 0x83ff, 0x0400, 0x7bff, 0xfbff, 0x7c00, 0xfc00, 0x7c01, 0x7e00, 0xfe00, 0x7fff];
        foreach (var type in new[] { FloatType.F16, FloatType.BF16 })
        {
            var dot = DotOf(path, type);
            var reference = RefDotOf(type);
            foreach (int n in new[] { 64, 65, 128, 200, 256, 1000 })
            {
                for (int trial = 0; trial < 40; trial++)
                {
                    byte* w = Row(n, 2, trial % 4);
                    byte* a = Row(n, 2, 0);
                    // Mostly fp16 subnormals and small normals (bf16: values near 1).
                    for (int i = 0; i < n; i++)
                    {
                        ((ushort*)w)[i] = (ushort)(rng.Next(0, 0x0800) | (rng.Next(2) << 15));
                        ((ushort*)a)[i] = (ushort)(rng.Next(0, 0x0800) | (rng.Next(2) << 15));
                        if (type == FloatType.BF16)
                        {
                            ((ushort*)w)[i] = (ushort)(rng.Next(0, 0x0100) | (rng.Next(0x3e, 0x42) << 7) | (rng.Next(2) << 15));
                            ((ushort*)a)[i] = (ushort)(rng.Next(0, 0x0100) | (rng.Next(0x3e, 0x42) << 7) | (rng.Next(2) << 15));
                        }
                    }
                    // Trials 0-19: finite specials (zeros, subnormals, extremes) in both operands; 20-29: also inf/NaN in
                    // the weights; 30-39: inf/NaN in the activations only (the fast F16 paths detect these differently).
                    for (int k = 0; k < 8; k++) ((ushort*)a)[rng.Next(n)] = specials[rng.Next(9)];
                    for (int k = 0; k < 8; k++) ((ushort*)w)[rng.Next(n)] = specials[rng.Next(9)];
                    ushort* target = trial < 30 ? (ushort*)w : (ushort*)a;
                    int count = trial < 20 ? 0 : 1 + rng.Next(3);
                    for (int k = 0; k < count; k++) target[rng.Next(n)] = specials[9 + rng.Next(specials.Length - 9)];
                    AssertSame(reference(w, a, n), dot(w, a, n), $"{path} Dot{type} specials n={n} trial={trial}");
                }
            }
        }
    }

    // ---- conversions ----------------------------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(Paths))]
    public void Half_to_float_rows_equal_reference_for_every_half(string path)
    {
        // All 65536 bit patterns in one row, then short rows at every length and shift.
        foreach (bool bf in new[] { false, true })
        {
            var conv = bf ? FromBF16Of(path) : FromF16Of(path);
            var reference = bf ? FromBF16Of("reference") : FromF16Of("reference");
            string name = bf ? "BF16" : "F16";
            var src = (ushort*)Row(65536, 2, 1);
            for (int i = 0; i < 65536; i++) src[i] = (ushort)i;
            float* want = (float*)Row(65536, 4, 0), got = (float*)Row(65536, 4, 2);
            reference((byte*)src, want, 65536);
            conv((byte*)src, got, 65536);
            for (int i = 0; i < 65536; i++)
            {
                Assert.True(Bits(want[i]) == Bits(got[i]), $"{path} Dequantize.{name} of 0x{i:x4}: expected 0x{Bits(want[i]):x8} got 0x{Bits(got[i]):x8}");
            }

            var rng = new Random(7);
            foreach (int n in Lengths())
            {
                for (int shift = 0; shift < 4; shift++)
                {
                    var h = (ushort*)Row(n, 2, shift);
                    for (int i = 0; i < n; i++) h[i] = (ushort)rng.Next(65536);
                    float* y0 = (float*)Row(n, 4, 3 - shift), y1 = (float*)Row(n, 4, shift);
                    reference((byte*)h, y0, n);
                    conv((byte*)h, y1, n);
                    for (int i = 0; i < n; i++)
                    {
                        Assert.True(Bits(y0[i]) == Bits(y1[i]), $"{path} Dequantize.{name} n={n} shift={shift} at {i}");
                    }
                }
            }
        }
    }

    [Fact]
    public void Arithmetic_half_widening_is_exact_for_every_half_at_every_width()
    {
        // HalfHiToSingleArith converts the kernels' fp16 scales (subnormal ones are common in K-quant files); a NaN
        // may keep a signalling payload, every other half must give Fp16.ToFloat's bits. The normal-first variant must
        // agree whether the half sits among its own copies or among normal halves.
        for (int h = 0; h < 65536; h++)
        {
            float want = Fp16.ToFloat((ushort)h);
            int hi = h << 16;
            var got = new[]
            {
                Fp16Vector.HalfHiToSingleArith(Vector128.Create(hi)).GetElement(3),
                Fp16Vector.HalfHiToSingleArith(Vector256.Create(hi)).GetElement(7),
                Fp16Vector.HalfHiToSingleArith(Vector512.Create(hi | 0x1234)).GetElement(15),
                // The normal-first variant: all lanes alike (shortcut or full path), then one lane among normal ones.
                Fp16Vector.HalfHiToSingleArithNormalFirst(Vector256.Create(hi | 0x1234)).GetElement(7),
                Fp16Vector.HalfHiToSingleArithNormalFirst(Vector256.Create(0x3c00abcd).WithElement(2, hi)).GetElement(2),
            };
            foreach (float g in got)
            {
                if (float.IsNaN(want)) Assert.True(float.IsNaN(g), $"0x{h:x4}: expected a NaN, got {g}");
                else Assert.True(Bits(want) == Bits(g), $"0x{h:x4}: expected 0x{Bits(want):x8} got 0x{Bits(g):x8}");
            }
        }
    }

    [Fact]
    public void Rounding_to_half_in_fp32_equals_the_scalar_round_trip_at_every_width()
    {
        // RoundToHalf keeps FlashAttention's fp16 accumulators in fp32: every sign/exponent/top-mantissa pattern with
        // low bits at and around fp16's rounding point (bit 12) and a random one, which covers fp16 subnormals,
        // overflow to inf, inf and NaN payloads.
        uint[] lows = [0x0000, 0x0001, 0x0fff, 0x1000, 0x1001, 0x1fff, 0x2000, 0x3000, 0x7fff, 0x8000, 0xffff];
        var rng = new Random(12);
        for (uint hi = 0; hi < 65536; hi++)
        {
            for (int j = 0; j <= lows.Length; j++)
            {
                uint lo = j < lows.Length ? lows[j] : (uint)rng.Next(65536);
                float x = BitConverter.UInt32BitsToSingle(hi << 16 | lo);
                uint want = Bits(Fp16.Round(x));
                uint[] got =
                [
                    Bits(Fp16Vector.RoundToHalf(Vector128.Create(x)).GetElement(2)),
                    Bits(Fp16Vector.RoundToHalf(Vector256.Create(x)).GetElement(5)),
                    Bits(Fp16Vector.RoundToHalf(Vector512.Create(x)).GetElement(13)),
                ];
                foreach (uint g in got) Assert.True(want == g, $"0x{hi << 16 | lo:x8}: expected 0x{want:x8} got 0x{g:x8}");
                // The branch-free form serves every lane below 32768 in magnitude; its caller sends the rest to RoundToHalf.
                var v = Vector512.Create(x);
                var ex = v.AsInt32() & Vector512.Create(Fp16Vector.ExponentBits);
                bool small = ex.ToScalar() < Fp16Vector.Below32768Limit;
                Assert.Equal(MathF.Abs(x) < 32768f, small);
                if (small)
                {
                    uint g = Bits(Fp16Vector.RoundToHalfSmall(v, ex).GetElement(7));
                    Assert.True(want == g, $"small 0x{hi << 16 | lo:x8}: expected 0x{want:x8} got 0x{g:x8}");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Float_to_half_rows_round_exactly_like_the_scalar_casts(string path)
    {
        // Every sign/exponent/top-mantissa pattern (the high 16 bits) with low bits at and around each rounding point
        // (ties for fp16 at bit 12, for bf16 at bit 15, and the subnormal range's coarser steps by the random ones),
        // which covers subnormals, overflow to inf, inf and NaN payloads.
        uint[] lows = [0x0000, 0x0001, 0x0fff, 0x1000, 0x1001, 0x1fff, 0x2000, 0x3000, 0x7fff, 0x8000, 0x8001, 0xefff, 0xf000, 0xf001, 0xffff];
        var rng = new Random(11);
        int count = 65536 * (lows.Length + 2);
        float* x = (float*)Row(count, 4, 0);
        int k = 0;
        for (uint hi = 0; hi < 65536; hi++)
        {
            foreach (uint lo in lows) x[k++] = BitConverter.UInt32BitsToSingle(hi << 16 | lo);
            x[k++] = BitConverter.UInt32BitsToSingle(hi << 16 | (uint)rng.Next(65536));
            x[k++] = BitConverter.UInt32BitsToSingle((uint)rng.NextInt64(1L << 32));
        }
        foreach (bool bf in new[] { false, true })
        {
            var conv = bf ? ToBF16Of(path) : ToF16Of(path);
            var reference = bf ? ToBF16Of("reference") : ToF16Of("reference");
            string name = bf ? "ToBF16" : "ToF16";
            var want = (ushort*)Row(count, 2, 0);
            var got = (ushort*)Row(count, 2, 1);
            reference(x, (byte*)want, count);
            conv(x, (byte*)got, count);
            for (int i = 0; i < count; i++)
            {
                Assert.True(want[i] == got[i], $"{path} ConvertRow.{name} of 0x{Bits(x[i]):x8}: expected 0x{want[i]:x4} got 0x{got[i]:x4}");
            }

            foreach (int n in Lengths())
            {
                for (int shift = 0; shift < 4; shift++)
                {
                    float* src = (float*)Row(n, 4, shift);
                    FillWide(rng, FloatType.F32, (byte*)src, n);
                    var y0 = (ushort*)Row(n, 2, 3 - shift);
                    var y1 = (ushort*)Row(n, 2, shift);
                    reference(src, (byte*)y0, n);
                    conv(src, (byte*)y1, n);
                    for (int i = 0; i < n; i++) Assert.True(y0[i] == y1[i], $"{path} ConvertRow.{name} n={n} shift={shift} at {i}");
                }
            }
        }
    }

    // ---- element-wise ops ---------------------------------------------------------------------------------------

    /// <summary>Inputs around every branch of ggml_v_expf: the ±192 cut-off (|x| ≈ 133), subnormal results (x in
    /// (−104, −87)), overflow (x > 88.7), zeros, infinities and NaN.</summary>
    private static readonly float[] ExpEdges =
    [
        0f, -0f, 1e-45f, -1e-45f, 1e-30f, 0.5f, -0.5f, 0.3465736f, -0.3465736f, 1f, -1f, 10f, -10f,
        87.3f, 88.7f, 88.8f, -87.3f, -88f, -95f, -100f, -103.9f, -104f, -110f,
        -133f, -133.08f, -133.1f, -133.2f, 133f, 133.1f, 133.2f, -150f, 150f, -192f, 192f, -1e4f, 1e4f, -1e30f, 1e30f,
        float.PositiveInfinity, float.NegativeInfinity, float.NaN, float.MaxValue, float.MinValue, float.Epsilon,
    ];

    [Theory]
    [MemberData(nameof(Paths))]
    public void Vector_exp_equals_ExpF_Ggml_lane_for_lane(string path)
    {
        // The high 16 bits of every float (each sign, exponent and top mantissa) with two random low halves, plus the
        // edges above.
        var rng = new Random(5);
        var xs = new List<float>(ExpEdges);
        for (uint hi = 0; hi < 65536; hi++)
        {
            xs.Add(BitConverter.UInt32BitsToSingle(hi << 16 | (uint)rng.Next(65536)));
            xs.Add(BitConverter.UInt32BitsToSingle(hi << 16 | (uint)rng.Next(65536)));
        }
        for (int i = 0; i < 200_000; i++) xs.Add((float)(rng.NextDouble() * 300 - 200));
        while (xs.Count % 16 != 0) xs.Add(0f);
        float* x = (float*)Row(xs.Count, 4, 0);
        float* y = (float*)Row(xs.Count, 4, 0);
        for (int i = 0; i < xs.Count; i++) x[i] = xs[i];
        VectorExp(path, x, y, xs.Count);
        for (int i = 0; i < xs.Count; i++)
        {
            float want = ExpF.Ggml(x[i]);
            Assert.True(SameOrBothNaN(want, y[i]), $"{path} exp(0x{Bits(x[i]):x8} = {x[i]:R}): expected {want:R} got {y[i]:R}");
        }
    }

    [Fact]
    public void Libm_exp_on_eight_lanes_equals_MathF_Exp_for_every_attention_argument()
    {
        // Flash attention's exp arguments are ≤ 0 (a score minus the running maximum): every float in [−104, 0]
        // (the table-driven range and glibc's underflow cases), then the high 16 bits of every float with a random
        // low half, and the edges; n is odd so the last group of eight is partly padding.
        Assert.True(Avx512F.IsSupported, "this test needs the AVX-512 machine CI runs on");
        const int Chunk = 1 << 16;
        float* x = (float*)Row(Chunk + 8, 4, 0);
        float* y = (float*)Row(Chunk + 8, 4, 0);
        var rng = new Random(6);
        long checkedCount = 0;
        void Check(int n)
        {
            ExpLibm.Avx512(x, y, n);
            for (int i = 0; i < n; i++)
            {
                float want = MathF.Exp(x[i]);
                if (Bits(want) != Bits(y[i]) && !(float.IsNaN(want) && float.IsNaN(y[i])))
                {
                    Assert.Fail($"exp(0x{Bits(x[i]):x8} = {x[i]:R}): expected {want:R} got {y[i]:R}");
                }
            }
            checkedCount += n;
        }

        uint last = Bits(-104f);
        for (uint u = 0x80000000; u <= last; u += Chunk)
        {
            int n = (int)Math.Min(Chunk - 1, last - u + 1);
            for (int i = 0; i < n; i++) x[i] = BitConverter.UInt32BitsToSingle(u + (uint)i);
            Check(n);
        }
        for (uint hi = 0; hi < 65536; hi += Chunk / 4)
        {
            int n = 0;
            for (uint h = hi; h < hi + Chunk / 4; h++)
            {
                for (int j = 0; j < 3; j++) x[n++] = BitConverter.UInt32BitsToSingle(h << 16 | (uint)rng.Next(65536));
            }
            Check(n);
        }
        ExpEdges.CopyTo(new Span<float>(x, ExpEdges.Length));
        Check(ExpEdges.Length);
        Assert.True(checkedCount > (long)Bits(-104f) - 0x80000000L, $"only {checkedCount} arguments checked");
    }

    [Fact]
    public void Libm_exp_table_holds_the_nearest_double_to_each_power_two_to_the_i_over_32()
    {
        // d = m·2^-52 with m ∈ [2^52, 2^53) is nearest to 2^(i/32) iff (2m − 1)^32 < 2^(32·53 + i) < (2m + 1)^32,
        // all in exact integers.
        for (int i = 0; i < 32; i++)
        {
            ulong bits = ExpLibm.Pow2Table[i];
            Assert.Equal(0x3FFUL, bits >> 52);   // in [1, 2)
            var m = new System.Numerics.BigInteger((bits & ((1UL << 52) - 1)) | (1UL << 52));
            var target = System.Numerics.BigInteger.One << (32 * 53 + i);
            Assert.True(System.Numerics.BigInteger.Pow(2 * m - 1, 32) < target, $"entry {i} too large");
            Assert.True(System.Numerics.BigInteger.Pow(2 * m + 1, 32) > target, $"entry {i} too small");
        }
    }

    private static void VectorExp(string path, float* x, float* y, int n)
    {
        for (int i = 0; i < n; i += 16)
        {
            switch (path)
            {
                case "avx512" when Avx512F.IsSupported:
                    ExpFVector.Avx512(Vector512.Load(x + i)).Store(y + i);
                    break;
                case "avx2" when Avx2.IsSupported && Fma.IsSupported:
                    ExpFVector.Avx2(Vector256.Load(x + i)).Store(y + i);
                    ExpFVector.Avx2(Vector256.Load(x + i + 8)).Store(y + i + 8);
                    break;
                case "v128" when Vector128.IsHardwareAccelerated:
                    for (int k = 0; k < 16; k += 4) ExpFVector.V128(Vector128.Load(x + i + k)).Store(y + i + k);
                    break;
                case "neon" when AdvSimd.Arm64.IsSupported:
                    for (int k = 0; k < 16; k += 4) ExpFVector.Neon(Vector128.Load(x + i + k)).Store(y + i + k);
                    break;
                default:
                    throw new InvalidOperationException(path);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void SiluMul_equals_reference_bit_for_bit(string path)
    {
        var op = SiluMulOf(path);
        var rng = new Random(21);
        foreach (int n in Lengths().Concat([2 * 5632 + 5]))
        {
            for (int shift = 0; shift < 4; shift++)
            {
                float* g0 = (float*)Row(n, 4, shift), g1 = (float*)Row(n, 4, 3 - shift), up = (float*)Row(n, 4, shift);
                for (int i = 0; i < n; i++)
                {
                    g0[i] = rng.Next(8) == 0 ? ExpEdges[rng.Next(ExpEdges.Length)] : (float)(rng.NextDouble() * 40 - 20);
                    g1[i] = g0[i];
                    up[i] = (float)(rng.NextDouble() * 4 - 2);
                }
                SiluMul.Reference(g0, up, n);
                op(g1, up, n);
                for (int i = 0; i < n; i++)
                {
                    Assert.True(SameOrBothNaN(g0[i], g1[i]), $"{path} SiluMul n={n} shift={shift} at {i}: expected {g0[i]:R} got {g1[i]:R}");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Add_equals_reference_bit_for_bit(string path)
    {
        var op = AddOf(path);
        var rng = new Random(22);
        foreach (int n in Lengths())
        {
            for (int shift = 0; shift < 4; shift++)
            {
                float* x0 = (float*)Row(n, 4, shift), x1 = (float*)Row(n, 4, 3 - shift), y = (float*)Row(n, 4, 0);
                FillWide(rng, FloatType.F32, (byte*)x0, n);
                FillWide(rng, FloatType.F32, (byte*)y, n);
                for (int i = 0; i < n; i++) x1[i] = x0[i];
                Add.Reference(x0, y, n);
                op(x1, y, n);
                for (int i = 0; i < n; i++) Assert.True(Bits(x0[i]) == Bits(x1[i]), $"{path} Add n={n} shift={shift} at {i}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Softmax_is_within_tolerance_of_reference(string path)
    {
        var op = SoftmaxOf(path);
        var rng = new Random(23);
        foreach (int n in Lengths().Where(n => n > 0).Concat([32000]))
        {
            for (int shift = 0; shift < 4; shift++)
            {
                float* x0 = (float*)Row(n, 4, shift), x1 = (float*)Row(n, 4, 3 - shift);
                for (int i = 0; i < n; i++) x0[i] = x1[i] = (float)(rng.NextDouble() * 60 - 40);
                if (n > 3) x0[1] = x1[1] = float.NegativeInfinity;   // a masked logit
                Softmax.Reference(x0, n);
                op(x1, n);
                double err = 0, norm = 0;
                for (int i = 0; i < n; i++)
                {
                    double d = (double)x1[i] - x0[i];
                    err += d * d;
                    norm += (double)x0[i] * x0[i];
                    Assert.True(Math.Abs(d) <= KernelTolerances.SoftmaxMaxRelative * x0[i],
                        $"{path} Softmax n={n} shift={shift} at {i}: expected {x0[i]:R} got {x1[i]:R}");
                }
                double nmse = err / norm;
                Assert.True(nmse <= KernelTolerances.SoftmaxNmse, $"{path} Softmax n={n} shift={shift}: NMSE {nmse:E3}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void RmsNorm_equals_reference_bit_for_bit(string path)
    {
        var op = RmsNormOf(path);
        var rng = new Random(24);
        foreach (int n in Lengths().Concat([4096]))
        {
            for (int shift = 0; shift < 4; shift++)
            {
                float* x = (float*)Row(n, 4, shift), w = (float*)Row(n, 4, 3 - shift);
                float* y0 = (float*)Row(n, 4, 0), y1 = (float*)Row(n, 4, shift);
                FillWide(rng, FloatType.F32, (byte*)x, n);
                for (int i = 0; i < n; i++) w[i] = (float)(rng.NextDouble() * 2);
                float eps = shift % 2 == 0 ? 1e-5f : 1e-6f;
                RmsNorm.Reference(x, w, y0, n, eps);
                op(x, w, y1, n, eps);
                for (int i = 0; i < n; i++) Assert.True(Bits(y0[i]) == Bits(y1[i]), $"{path} RmsNorm n={n} shift={shift} at {i}");
                // In place (y = x) as well.
                op(x, w, x, n, eps);
                for (int i = 0; i < n; i++) Assert.True(Bits(y0[i]) == Bits(x[i]), $"{path} RmsNorm in place n={n} shift={shift} at {i}");
            }
        }
    }

    private static delegate*<float*, int, int, float*, float*, int, void> RopeOf(string path, bool neox) => (path, neox) switch
    {
        ("avx512", false) => &Rope.AdjacentAvx512,
        ("avx512", true) => &Rope.NeoxAvx512,
        ("avx2", false) => &Rope.AdjacentAvx2,
        ("avx2", true) => &Rope.NeoxAvx2,
        ("v128", false) => &Rope.AdjacentV128,
        ("v128", true) => &Rope.NeoxV128,
        ("neon", false) => &Rope.AdjacentNeon,
        ("neon", true) => &Rope.NeoxNeon,
        (_, false) => &Rope.AdjacentReference,
        _ => &Rope.NeoxReference,
    };

    /// <summary>Both pairings on every path: head sizes from 2 to 256, every rotated-pair count below 33 and the
    /// full and partial rotations of real heads (the rest of a head must stay as it was), one and three heads, angles
    /// from a real table and raw random cos/sin, inf and NaN inputs, starts shifted by 0..3 elements, and tables and
    /// heads that end at a PROT_NONE page.</summary>
    [Theory]
    [MemberData(nameof(Paths))]
    public void Rope_equals_reference_bit_for_bit(string path)
    {
        var rng = new Random(31);
        using var table = new RopeTable(64, 128, 10000f, 1f);
        foreach (bool neox in new[] { false, true })
        {
            var op = RopeOf(path, neox);
            var reference = RopeOf("reference", neox);
            foreach (int headDim in new[] { 2, 6, 16, 34, 64, 66, 80, 128, 256 })
            {
                var pairCounts = Enumerable.Range(0, 33).Concat([headDim / 4, headDim / 2 - 1, headDim / 2]).Where(p => p >= 0 && p <= headDim / 2).Distinct();
                foreach (int pairs in pairCounts)
                {
                    foreach (int heads in new[] { 1, 3 })
                    {
                        int shift = rng.Next(4), n = heads * headDim;
                        float* x0 = (float*)Row(n, 4, 0), x1 = (float*)Row(n, 4, shift);
                        float* cos = (float*)Row(pairs, 4, 3 - shift), sin = (float*)Row(pairs, 4, shift);
                        FillWide(rng, FloatType.F32, (byte*)x0, n);
                        if (n > 4 && rng.Next(4) == 0) { x0[rng.Next(n)] = float.PositiveInfinity; x0[rng.Next(n)] = float.NaN; }
                        bool real = rng.Next(2) == 0 && pairs <= table.Pairs;
                        int pos = rng.Next(table.MaxPositions);
                        for (int i = 0; i < pairs; i++)
                        {
                            cos[i] = real ? table.Cos[(long)pos * table.Pairs + i] : (float)(rng.NextDouble() * 4 - 2);
                            sin[i] = real ? table.Sin[(long)pos * table.Pairs + i] : (float)(rng.NextDouble() * 4 - 2);
                        }
                        new Span<float>(x0, n).CopyTo(new Span<float>(x1, n));
                        reference(x0, heads, headDim, cos, sin, pairs);
                        op(x1, heads, headDim, cos, sin, pairs);
                        for (int i = 0; i < n; i++)
                        {
                            Assert.True(SameOrBothNaN(x0[i], x1[i]),
                                $"{path} rope neox={neox} headDim={headDim} pairs={pairs} heads={heads} at {i}: expected {x0[i]:R} got {x1[i]:R}");
                        }
                    }
                }
            }
        }
    }

    // ---- flash attention ----------------------------------------------------------------------------------------

    /// <summary>The attention paths: avx512 runs an fp16 accumulator's updates in emitted code, avx512-intrinsic
    /// keeps them in intrinsics.</summary>
    public static TheoryData<string> AttentionPaths() => PathData("avx512", "avx512-intrinsic", "avx2", "v128", "neon");

    [Theory]
    [MemberData(nameof(AttentionPaths))]
    public void FlashAttention_equals_reference_bit_for_bit(string path)
    {
        Assert.True(path != "avx512" || HalfAccumulate.Available, "this test needs the AVX-512 machine CI runs on, with the emitted kernels");
        var rng = new Random(25);
        foreach (bool f16 in new[] { true, false })
        {
            foreach (int hd in new[] { 1, 3, 8, 15, 16, 17, 31, 64, 80, 128, 256 })
            {
                foreach (int positions in new[] { 0, 1, 2, 5, 33, 130, 300 })   // 130, 300: two and three chunks of Grouped
                {
                    // Groups of 1, 3, 8 (as in TinyLlama) and 12 query heads per kv head (12: two groups of eight exps).
                    int heads = new[] { 1, 3, 8, 12 }[(hd + positions) % 4];
                    // A run of tokens (token i sees positions + i positions): 1, 2, 5 or 9 (9 crosses a chunk from 125).
                    int tokens = positions == 0 ? 1 : new[] { 1, 2, 5, 9 }[(hd / 3 + positions) % 4];
                    int cached = positions + tokens - 1;
                    int size = f16 ? 2 : 4;
                    long rowBytes = (hd + 5) * size;   // rows strided as in a cache holding several heads
                    byte* keys = Row((int)(rowBytes / size) * Math.Max(cached, 1), size, 0);
                    byte* values = Row((int)(rowBytes / size) * Math.Max(cached, 1), size, 1);
                    int stride = hd + 2;                // query heads strided, not packed
                    int tokenStride = stride * heads + 3;
                    float* q = (float*)Row(tokenStride * tokens, 4, 2);
                    for (int t = 0; t < cached; t++)
                    {
                        for (int i = 0; i < hd; i++)
                        {
                            // Scores drift upwards now and then, so the running maximum (and the rescale) moves often.
                            float k = (float)(rng.NextDouble() * 2 - 1) * (1 + t % 7);
                            float v = (float)(rng.NextDouble() * 8 - 4);
                            // Some heads' values near fp16's top (sums reach inf: RoundToHalfSmall's range is left) or
                            // among fp16 subnormals (rounded by the branch-free form).
                            if (hd % 3 == 1 && t % 97 == 5) v *= 16000;
                            if (hd % 3 == 2) v *= 1e-6f;
                            if (f16)
                            {
                                ((ushort*)(keys + t * rowBytes))[i] = Fp16.FromFloat(k);
                                ((ushort*)(values + t * rowBytes))[i] = Fp16.FromFloat(v);
                            }
                            else
                            {
                                ((float*)(keys + t * rowBytes))[i] = k;
                                ((float*)(values + t * rowBytes))[i] = v;
                            }
                        }
                    }
                    for (int i = 0; i < tokenStride * tokens; i++) q[i] = (float)(rng.NextDouble() * 2 - 1);

                    float* want = Attend(path: "reference", f16, keys, values, rowBytes, positions, tokens, hd, q, heads, stride, tokenStride);
                    float* got = Attend(path, f16, keys, values, rowBytes, positions, tokens, hd, q, heads, stride, tokenStride);
                    for (int k = 0; k < tokens; k++)
                    {
                        // Each token of the run is the spec's single-token attention over its own causal prefix.
                        float* alone = Attend(path: "reference", f16, keys, values, rowBytes, positions + k, 1, hd, q + (long)k * tokenStride, heads, stride, 0);
                        for (int g = 0; g < heads; g++)
                        {
                            for (int i = 0; i < hd; i++)
                            {
                                long at = k * tokenStride + (long)g * stride + i, one = (long)g * stride + i;
                                Assert.True(Bits(want[at]) == Bits(alone[one]), $"reference token {k} of {tokens}: a run differs from a single token");
                                Assert.True(Bits(want[at]) == Bits(got[at]),
                                    $"{path} FlashAttention {(f16 ? "F16" : "F32")} hd={hd} positions={positions} token {k} of {tokens} head {g} of {heads} at {i}: expected {want[at]:R} got {got[at]:R}");
                            }
                        }
                    }
                    if (positions > 1 && heads > 1)
                    {
                        // The heads of a group must not be copies of each other (a stride bug could make them so); one position
                        // would give every head that position's value row.
                        Assert.NotEqual(Bits(got[0]), Bits(got[(long)(heads - 1) * stride]));
                    }
                }
            }
        }
    }

    /// <summary>One attention call (a group of query heads sharing one kv head, for a run of tokens) through a path's
    /// kernel, key dot and query conversion (the reference path uses the scalar ones): the SIMD dots are bit-exact, so
    /// every path must give Reference's output.</summary>
    private float* Attend(string path, bool f16, byte* keys, byte* values, long rowBytes, int positions, int tokens, int hd, float* q,
        int heads, int stride, int tokenStride)
    {
        var args = new AttentionArgs
        {
            Query = q,
            Heads = heads,
            HeadStride = stride,
            Tokens = tokens,
            TokenStride = tokenStride,
            Keys = keys,
            Values = values,
            RowBytes = rowBytes,
            Positions = positions,
            HeadDim = hd,
            Scale = 1f / MathF.Sqrt(hd),
            F16 = f16,
            Scratch = Row((int)FlashAttention.ScratchBytes(heads * tokens, hd), 1, 0),
            Output = (float*)Row(Math.Max(tokenStride, stride * heads) * tokens, 4, 1),
            KeyDot = DotOf(path, f16 ? FloatType.F16 : FloatType.F32),
            QueryToCache = f16 ? ToF16Of(path) : &ConvertRow.ToF32,
        };
        AttentionOf(path)(&args);
        return args.Output;
    }

    // ---- data ---------------------------------------------------------------------------------------------------

    /// <summary>Normal-ish values scaled by 2^[-8, 8): a wide dynamic range, so any change of summation order shows.</summary>
    private static void FillWide(Random rng, FloatType type, byte* p, int n)
    {
        for (int i = 0; i < n; i++)
        {
            double g = (rng.NextDouble() + rng.NextDouble() + rng.NextDouble() - 1.5) * 2;
            float v = (float)(g * Math.Pow(2, rng.Next(-8, 8)));
            switch (type)
            {
                case FloatType.F32: ((float*)p)[i] = v; break;
                case FloatType.F16: ((ushort*)p)[i] = Fp16.FromFloat(v); break;
                default: ((ushort*)p)[i] = Fp16.FloatToBF16(v); break;
            }
        }
    }

    private static float Naive(FloatType type, byte* w, byte* a, int n)
    {
        float s = 0;
        for (int i = 0; i < n; i++)
        {
            float x = type switch
            {
                FloatType.F32 => ((float*)w)[i],
                FloatType.F16 => Fp16.ToFloat(((ushort*)w)[i]),
                _ => Fp16.BF16ToFloat(((ushort*)w)[i]),
            };
            float y = type switch
            {
                FloatType.F32 => ((float*)a)[i],
                FloatType.F16 => Fp16.ToFloat(((ushort*)a)[i]),
                _ => Fp16.BF16ToFloat(((ushort*)a)[i]),
            };
            s = MathF.FusedMultiplyAdd(x, y, s);
        }
        return s;
    }

    // ---- guard-paged buffers ------------------------------------------------------------------------------------

    private readonly GuardedMemory _memory = new();

    /// <summary>Room for n elements whose end lies `slack` elements before a guard page (see GuardedMemory).</summary>
    private byte* Row(int n, int elementSize, int slack) => _memory.Bytes((long)n * elementSize, (long)slack * elementSize);

    public void Dispose()
    {
        _memory.Dispose();
        GC.SuppressFinalize(this);
    }
}
