// The one place kernels are chosen: at start-up a KernelTable is filled with function pointers for one ISA path,
// indexed by tensor type. Hot loops call through these pointers and never test ISA flags or use interfaces.
using LlamaAot.Kernels.Dot;
using LlamaAot.Kernels.MatMul;
using LlamaAot.Kernels.Ops;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Dispatch;

/// <summary>The kernel paths, slowest first. Reference is the scalar specification.</summary>
public enum KernelIsa { Reference, V128, Avx2, Avx512 }

/// <summary>What a weight type needs: the activation format it pairs with, its dot and its dequantizer.</summary>
public unsafe struct TypeKernels
{
    /// <summary>Activation format this weight type's dot consumes (ggml's vec_dot_type).</summary>
    public GgmlType VecDotType;
    /// <summary>dot(weight row, activation row, n elements); null when the type cannot be multiplied yet.</summary>
    public delegate*<byte*, byte*, int, float> VecDot;
    /// <summary>The dot for matrices with a multiple of 8 rows, where llama.cpp uses a repacked layout with its own
    /// summation order (Q4_0); null means VecDot serves all matrices.</summary>
    public delegate*<byte*, byte*, int, float> VecDotRows8;
    /// <summary>Row-range matrix product (tiled for this type and path); null means the generic loop over VecDot.</summary>
    public delegate*<MatMulArgs*, int, int, void> Gemm;
    /// <summary>Row-range product for matrices with a multiple of 8 rows (pairs with VecDotRows8).</summary>
    public delegate*<MatMulArgs*, int, int, void> GemmRows8;
    /// <summary>Row dequantizer to fp32; null when unsupported.</summary>
    public delegate*<byte*, float*, int, void> ToFloat;
    /// <summary>fp32 → this format (used when the type is an activation format); null otherwise.</summary>
    public delegate*<float*, byte*, int, void> FromFloat;

    public readonly bool CanMultiply => VecDot != null;

    /// <summary>The dot to use for a matrix with <paramref name="rows"/> rows.</summary>
    public readonly delegate*<byte*, byte*, int, float> DotFor(int rows) => rows % 8 == 0 && VecDotRows8 != null ? VecDotRows8 : VecDot;

    /// <summary>The row-range product to use for a matrix with <paramref name="rows"/> rows.</summary>
    public readonly delegate*<MatMulArgs*, int, int, void> GemmFor(int rows)
    {
        if (rows % 8 == 0 && VecDotRows8 != null) return GemmRows8 != null ? GemmRows8 : &MatMul.MatMul.Rows;
        return Gemm != null ? Gemm : &MatMul.MatMul.Rows;
    }
}

public sealed unsafe class KernelTable
{
    private readonly TypeKernels[] _types = new TypeKernels[64];

    private KernelTable(KernelIsa isa) => Isa = isa;

    public KernelIsa Isa { get; }

    public delegate*<float*, float*, float*, int, float, void> RmsNorm;
    public delegate*<float*, int, void> Softmax;
    public delegate*<float*, float*, int, void> SiluMul;
    public delegate*<float*, float*, int, void> Add;
    public delegate*<float*, int, int, float*, float*, int, void> RopeAdjacent;
    public delegate*<float*, int, int, float*, float*, int, void> RopeNeox;
    public delegate*<AttentionArgs*, void> Attention;

    public ref readonly TypeKernels this[GgmlType type] => ref _types[(int)type];

    public bool CanMultiply(GgmlType type) => (int)type < _types.Length && _types[(int)type].CanMultiply;

    /// <summary>Name of a path as used by LLAMA_AOT_ISA and printed in banners.</summary>
    public static string Name(KernelIsa isa) => isa switch
    {
        KernelIsa.Reference => "reference",
        KernelIsa.V128 => "v128",
        KernelIsa.Avx2 => "avx2",
        KernelIsa.Avx512 => "avx512",
        _ => isa.ToString(),
    };

    /// <summary>Name of a path with what it adds on this machine, for banners: "avx512+vnni" when the AVX-512 path's
    /// prompt tiles run emitted VNNI code (Jit/VnniTiles.cs; the Q4_0, Q4_K, Q6_K and Q8_0 decode kernels too,
    /// Jit/VnniDecode.cs, where the CPU also has VBMI and GFNI).</summary>
    public static string Describe(KernelIsa isa) => isa == KernelIsa.Avx512 && Jit.VnniTiles.Available ? Name(isa) + "+vnni" : Name(isa);

    public static bool TryParse(string name, out KernelIsa isa)
    {
        foreach (var candidate in Enum.GetValues<KernelIsa>())
        {
            if (string.Equals(Name(candidate), name, StringComparison.OrdinalIgnoreCase))
            {
                isa = candidate;
                return true;
            }
        }
        isa = default;
        return false;
    }

    /// <summary>The fastest path this CPU (and this binary's instruction-set baseline) can run.</summary>
    public static KernelIsa Best()
    {
        if (IsAvailable(KernelIsa.Avx512)) return KernelIsa.Avx512;
        if (IsAvailable(KernelIsa.Avx2)) return KernelIsa.Avx2;
        if (IsAvailable(KernelIsa.V128)) return KernelIsa.V128;
        return KernelIsa.Reference;
    }

    public static bool IsAvailable(KernelIsa isa) => isa switch
    {
        KernelIsa.Reference => true,
        KernelIsa.V128 => System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated,
        KernelIsa.Avx2 => System.Runtime.Intrinsics.X86.Avx2.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported,
        KernelIsa.Avx512 => System.Runtime.Intrinsics.X86.Avx512BW.IsSupported && System.Runtime.Intrinsics.X86.Avx512F.VL.IsSupported,
        _ => false,
    };

    /// <summary>The path named by LLAMA_AOT_ISA, or the best available one.</summary>
    public static KernelIsa FromEnvironment()
    {
        string? forced = Environment.GetEnvironmentVariable("LLAMA_AOT_ISA");
        if (string.IsNullOrWhiteSpace(forced)) return Best();
        if (!TryParse(forced.Trim(), out var isa))
        {
            throw new ArgumentException($"LLAMA_AOT_ISA='{forced}' is not one of reference, v128, avx2, avx512");
        }
        if (!IsAvailable(isa))
        {
            throw new ArgumentException($"LLAMA_AOT_ISA={Name(isa)} is not supported by this CPU or this build");
        }
        return isa;
    }

    private static readonly Dictionary<KernelIsa, KernelTable> Cache = [];

    /// <summary>The table for one path (built once, then shared).</summary>
    public static KernelTable For(KernelIsa isa)
    {
        lock (Cache)
        {
            if (!Cache.TryGetValue(isa, out var table))
            {
                if (!IsAvailable(isa)) throw new ArgumentException($"kernel path {Name(isa)} is not supported by this CPU or this build");
                table = Build(isa);
                Cache[isa] = table;
            }
            return table;
        }
    }

    private static KernelTable Build(KernelIsa isa)
    {
        var t = new KernelTable(isa);
        // Reference everywhere first; each faster path overwrites what it implements, so a path falls back to the
        // next slower one kernel by kernel (all of them compute the same numbers).
        t.SetReference();
        if (isa >= KernelIsa.V128) t.SetVector128();
        if (isa >= KernelIsa.Avx2) t.SetAvx2();
        if (isa >= KernelIsa.Avx512) t.SetAvx512();
        return t;
    }

    private void SetReference()
    {
        Set(GgmlType.F32, GgmlType.F32, &DotF32F32.Reference, &Dequantize.F32, &ConvertRow.ToF32);
        Set(GgmlType.F16, GgmlType.F16, &DotF16F16.Reference, &Dequantize.F16, &ConvertRow.ToF16);
        Set(GgmlType.BF16, GgmlType.BF16, &DotBF16BF16.Reference, &Dequantize.BF16, &ConvertRow.ToBF16);
        Set(GgmlType.Q8_0, GgmlType.Q8_0, &DotQ8_0Q8_0.Reference, &Dequantize.Q8_0, &QuantizeQ8_0.Reference);
        Set(GgmlType.Q4_0, GgmlType.Q8_0, &DotQ4_0Q8_0.Reference, &Dequantize.Q4_0, null);
        _types[(int)GgmlType.Q4_0].VecDotRows8 = &DotQ4_0Q8_0.ReferenceBlockwise;
        // Legacy and K weight formats with ggml-cpu's vec_dot_type; Q8_1 and Q8_K are activation formats only.
        Set(GgmlType.Q4_1, GgmlType.Q8_1, &DotQ4_1Q8_1.Reference, &DequantizeFormats.Q4_1, null);
        Set(GgmlType.Q5_0, GgmlType.Q8_0, &DotQ5_0Q8_0.Reference, &DequantizeFormats.Q5_0, null);
        Set(GgmlType.Q5_1, GgmlType.Q8_1, &DotQ5_1Q8_1.Reference, &DequantizeFormats.Q5_1, null);
        Set(GgmlType.Q2_K, GgmlType.Q8_K, &DotQ2_KQ8_K.Reference, &DequantizeFormats.Q2_K, null);
        Set(GgmlType.Q3_K, GgmlType.Q8_K, &DotQ3_KQ8_K.Reference, &DequantizeFormats.Q3_K, null);
        Set(GgmlType.Q4_K, GgmlType.Q8_K, &DotQ4_KQ8_K.Reference, &DequantizeFormats.Q4_K, null);
        Set(GgmlType.Q5_K, GgmlType.Q8_K, &DotQ5_KQ8_K.Reference, &DequantizeFormats.Q5_K, null);
        Set(GgmlType.Q6_K, GgmlType.Q8_K, &DotQ6_KQ8_K.Reference, &DequantizeFormats.Q6_K, null);
        // ggml_repack_get_optimal_repack_type (ggml-cpu/repack.cpp) on x86: Q4_K → q4_K_8x8 with AVX2, Q2_K → q2_K_8x8
        // with AVX-512, each only for matrices with a multiple of 8 rows; Q3_K, Q5_K, Q6_K are never repacked on x86.
        _types[(int)GgmlType.Q4_K].VecDotRows8 = &DotQ4_KQ8_K.ReferenceBlockwise;
        _types[(int)GgmlType.Q2_K].VecDotRows8 = &DotQ2_KQ8_K.ReferenceBlockwise;
        Set(GgmlType.Q8_1, GgmlType.Q8_1, null, null, &QuantizeFormats.Q8_1);
        Set(GgmlType.Q8_K, GgmlType.Q8_K, null, &DequantizeFormats.Q8_K, &QuantizeFormats.Q8_K);
        RmsNorm = &Ops.RmsNorm.Reference;
        Softmax = &Ops.Softmax.Reference;
        SiluMul = &Ops.SiluMul.Reference;
        Add = &Ops.Add.Reference;
        RopeAdjacent = &Rope.AdjacentReference;
        RopeNeox = &Rope.NeoxReference;
        Attention = &FlashAttention.Reference;
    }

    /// <summary>Portable Vector128 (SSE here); on ARM the AdvSimd kernels where they exist.</summary>
    private void SetVector128()
    {
        bool neon = System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported;
        SetFloat(GgmlType.F32, neon ? &DotF32F32.Neon : &DotF32F32.V128, null, null);
        SetFloat(GgmlType.F16, neon ? &DotF16F16.Neon : &DotF16F16.V128, &Dequantize.F16V128, &ConvertRow.ToF16V128);
        SetFloat(GgmlType.BF16, neon ? &DotBF16BF16.Neon : &DotBF16BF16.V128, &Dequantize.BF16V128, &ConvertRow.ToBF16V128);
        SetInt(GgmlType.Q8_0, neon ? &DotQ8_0Q8_0.Neon : &DotQ8_0Q8_0.V128, null, null, null);
        SetInt(GgmlType.Q4_0, neon ? &DotQ4_0Q8_0.Neon : &DotQ4_0Q8_0.V128, neon ? &DotQ4_0Q8_0.NeonBlockwise : &DotQ4_0Q8_0.V128Blockwise, null, null);
        _types[(int)GgmlType.Q8_0].FromFloat = neon ? &QuantizeQ8_0.Neon : &QuantizeQ8_0.V128;
        SetInt(GgmlType.Q4_1, neon ? &DotQ4_1Q8_1.Neon : &DotQ4_1Q8_1.V128, null, null, null);
        SetInt(GgmlType.Q5_0, neon ? &DotQ5_0Q8_0.Neon : &DotQ5_0Q8_0.V128, null, null, null);
        SetInt(GgmlType.Q5_1, neon ? &DotQ5_1Q8_1.Neon : &DotQ5_1Q8_1.V128, null, null, null);
        SetInt(GgmlType.Q2_K, neon ? &DotQ2_KQ8_K.Neon : &DotQ2_KQ8_K.V128, neon ? &DotQ2_KQ8_K.NeonBlockwise : &DotQ2_KQ8_K.V128Blockwise, null, null);
        SetInt(GgmlType.Q3_K, neon ? &DotQ3_KQ8_K.Neon : &DotQ3_KQ8_K.V128, null, null, null);
        SetInt(GgmlType.Q4_K, neon ? &DotQ4_KQ8_K.Neon : &DotQ4_KQ8_K.V128, neon ? &DotQ4_KQ8_K.NeonBlockwise : &DotQ4_KQ8_K.V128Blockwise, null, null);
        SetInt(GgmlType.Q5_K, neon ? &DotQ5_KQ8_K.Neon : &DotQ5_KQ8_K.V128, null, null, null);
        SetInt(GgmlType.Q6_K, neon ? &DotQ6_KQ8_K.Neon : &DotQ6_KQ8_K.V128, null, null, null);
        _types[(int)GgmlType.Q8_1].FromFloat = neon ? &QuantizeFormats.Q8_1Neon : &QuantizeFormats.Q8_1V128;
        _types[(int)GgmlType.Q8_K].FromFloat = neon ? &QuantizeFormats.Q8_KNeon : &QuantizeFormats.Q8_KV128;
        RmsNorm = neon ? &Ops.RmsNorm.Neon : &Ops.RmsNorm.V128;
        Softmax = neon ? &Ops.Softmax.Neon : &Ops.Softmax.V128;
        SiluMul = neon ? &Ops.SiluMul.Neon : &Ops.SiluMul.V128;
        Add = neon ? &Ops.Add.Neon : &Ops.Add.V128;
        RopeAdjacent = neon ? &Rope.AdjacentNeon : &Rope.AdjacentV128;
        RopeNeox = neon ? &Rope.NeoxNeon : &Rope.NeoxV128;
        Attention = &FlashAttention.V128;
    }

    private void SetAvx2()
    {
        SetFloat(GgmlType.F32, &DotF32F32.Avx2, null, null);
        SetFloat(GgmlType.F16, &DotF16F16.Avx2, &Dequantize.F16Avx2, &ConvertRow.ToF16Avx2);
        SetFloat(GgmlType.BF16, &DotBF16BF16.Avx2, &Dequantize.BF16Avx2, &ConvertRow.ToBF16Avx2);
        SetInt(GgmlType.Q8_0, &DotQ8_0Q8_0.Avx2, null, &DotQ8_0Q8_0.GemmAvx2, null);
        SetInt(GgmlType.Q4_0, &DotQ4_0Q8_0.Avx2, &DotQ4_0Q8_0.Avx2Blockwise, &DotQ4_0Q8_0.GemmAvx2, &DotQ4_0Q8_0.GemmAvx2Blockwise);
        _types[(int)GgmlType.Q8_0].FromFloat = &QuantizeQ8_0.Avx2;
        // The legacy formats have AVX2 kernels only: their AVX-512 variants measured no faster (LegacyLanes.cs), so
        // the AVX-512 path keeps these for its prompts (its decode: the emitted kernels, below).
        SetInt(GgmlType.Q4_1, &DotQ4_1Q8_1.Avx2, null, &DotQ4_1Q8_1.GemmAvx2, null);
        SetInt(GgmlType.Q5_0, &DotQ5_0Q8_0.Avx2, null, &DotQ5_0Q8_0.GemmAvx2, null);
        SetInt(GgmlType.Q5_1, &DotQ5_1Q8_1.Avx2, null, &DotQ5_1Q8_1.GemmAvx2, null);
        // K-quants: AVX2 kernels serve the AVX-512 path too, except Q3_K, Q4_K, Q5_K and Q6_K prompts (512-bit variants
        // measured slower on Zen 4, which splits them into 256-bit halves; llama.cpp has no AVX-512 branch for these
        // either). Prompts share each weight row's unpacking across four activation rows (MatMul.Acts4Rows), in the
        // order of the dot the matrix uses.
        SetInt(GgmlType.Q2_K, &DotQ2_KQ8_K.Avx2, &DotQ2_KQ8_K.Avx2Blockwise, &DotQ2_KQ8_K.GemmAvx2, &DotQ2_KQ8_K.GemmAvx2Blockwise);
        SetInt(GgmlType.Q3_K, &DotQ3_KQ8_K.Avx2, null, &DotQ3_KQ8_K.GemmAvx2, null);
        SetInt(GgmlType.Q4_K, &DotQ4_KQ8_K.Avx2, &DotQ4_KQ8_K.Avx2Blockwise, null, &DotQ4_KQ8_K.GemmAvx2Blockwise);
        SetInt(GgmlType.Q5_K, &DotQ5_KQ8_K.Avx2, null, &DotQ5_KQ8_K.GemmAvx2, null);
        SetInt(GgmlType.Q6_K, &DotQ6_KQ8_K.Avx2, null, &DotQ6_KQ8_K.GemmAvx2, null);
        _types[(int)GgmlType.Q8_1].FromFloat = &QuantizeFormats.Q8_1Avx2;
        _types[(int)GgmlType.Q8_K].FromFloat = &QuantizeFormats.Q8_KAvx2;
        RmsNorm = &Ops.RmsNorm.Avx2;
        Softmax = &Ops.Softmax.Avx2;
        SiluMul = &Ops.SiluMul.Avx2;
        Add = &Ops.Add.Avx2;
        RopeAdjacent = &Rope.AdjacentAvx2;
        RopeNeox = &Rope.NeoxAvx2;
        Attention = &FlashAttention.Avx2;
    }

    private void SetAvx512()
    {
        SetFloat(GgmlType.F32, &DotF32F32.Avx512, null, null);
        SetFloat(GgmlType.F16, &DotF16F16.Avx512, &Dequantize.F16Avx512, &ConvertRow.ToF16Avx512);
        SetFloat(GgmlType.BF16, &DotBF16BF16.Avx512, &Dequantize.BF16Avx512, &ConvertRow.ToBF16Avx512);
        SetInt(GgmlType.Q8_0, &DotQ8_0Q8_0.Avx2, null, &DotQ8_0Q8_0.GemmAvx512Vnni, null);   // decode: DotQ8_0Q8_0.Decode.cs
        SetInt(GgmlType.Q4_0, &DotQ4_0Q8_0.Avx512, &DotQ4_0Q8_0.Avx512Blockwise, &DotQ4_0Q8_0.GemmAvx512, &DotQ4_0Q8_0.GemmAvx512VnniBlockwise);
        _types[(int)GgmlType.Q8_0].FromFloat = &QuantizeQ8_0.Avx512;
        _types[(int)GgmlType.Q8_K].FromFloat = &QuantizeFormats.Q8_KAvx512;
        // The K-quant exceptions to the AVX2 kernels above: Q4_K and Q2_K prompts (blockwise order) in 16-row tiles
        // with one weight row per int32 lane (Q4_K 2.25x the AVX2 prompt kernel on Zen 4, Q2_K 3.6x on Zen 5); their
        // dots stay AVX2, and so does their decode unless the emitted one is in place (Jit/VnniDecode.cs).
        SetInt(GgmlType.Q4_K, &DotQ4_KQ8_K.Avx2, &DotQ4_KQ8_K.Avx2Blockwise, null, &DotQ4_KQ8_K.GemmAvx512VnniBlockwise);
        // Q6_K, Q5_K and Q3_K prompts: the emitted VNNI kernel, eight activation rows per pass over a weight row (the
        // AVX2 dots' lanes), and their decode an emitted row kernel each, as Q2_K's blockwise decode; without them the
        // AVX2 kernels.
        SetInt(GgmlType.Q6_K, &DotQ6_KQ8_K.Avx2, null, &DotQ6_KQ8_K.GemmAvx512Vnni, null);
        SetInt(GgmlType.Q5_K, &DotQ5_KQ8_K.Avx2, null, &DotQ5_KQ8_K.GemmAvx512Vnni, null);
        SetInt(GgmlType.Q3_K, &DotQ3_KQ8_K.Avx2, null, &DotQ3_KQ8_K.GemmAvx512Vnni, null);
        SetInt(GgmlType.Q2_K, &DotQ2_KQ8_K.Avx2, &DotQ2_KQ8_K.Avx2Blockwise, &DotQ2_KQ8_K.GemmAvx2, &DotQ2_KQ8_K.GemmAvx512VnniBlockwise);
        // Legacy formats: decode by an emitted four-row kernel (LegacyDecode), the rest as on AVX2.
        SetInt(GgmlType.Q4_1, &DotQ4_1Q8_1.Avx2, null, &DotQ4_1Q8_1.GemmAvx512Vnni, null);
        SetInt(GgmlType.Q5_0, &DotQ5_0Q8_0.Avx2, null, &DotQ5_0Q8_0.GemmAvx512Vnni, null);
        SetInt(GgmlType.Q5_1, &DotQ5_1Q8_1.Avx2, null, &DotQ5_1Q8_1.GemmAvx512Vnni, null);
        RmsNorm = &Ops.RmsNorm.Avx512;
        Softmax = &Ops.Softmax.Avx512;
        SiluMul = &Ops.SiluMul.Avx512;
        Add = &Ops.Add.Avx512;
        RopeAdjacent = &Rope.AdjacentAvx512;
        RopeNeox = &Rope.NeoxAvx512;
        Attention = &FlashAttention.Avx512;
    }

    /// <summary>Overrides a float type's dot and, when given, its row conversions.</summary>
    private void SetFloat(GgmlType type, delegate*<byte*, byte*, int, float> dot, delegate*<byte*, float*, int, void> toFloat,
        delegate*<float*, byte*, int, void> fromFloat)
    {
        ref var k = ref _types[(int)type];
        k.VecDot = dot;
        if (toFloat != null) k.ToFloat = toFloat;
        if (fromFloat != null) k.FromFloat = fromFloat;
    }

    /// <summary>Overrides an integer type's dots and row-range products together, so the tiled products of one path
    /// never pair with the dots of another (null products fall back to the generic loop over the dot).</summary>
    private void SetInt(GgmlType type, delegate*<byte*, byte*, int, float> dot, delegate*<byte*, byte*, int, float> dotRows8,
        delegate*<MatMulArgs*, int, int, void> gemm, delegate*<MatMulArgs*, int, int, void> gemmRows8)
    {
        ref var k = ref _types[(int)type];
        k.VecDot = dot;
        if (dotRows8 != null) k.VecDotRows8 = dotRows8;
        k.Gemm = gemm;
        k.GemmRows8 = gemmRows8;
    }

    private void Set(GgmlType type, GgmlType vecDotType, delegate*<byte*, byte*, int, float> dot,
        delegate*<byte*, float*, int, void> toFloat, delegate*<float*, byte*, int, void> fromFloat)
    {
        ref var k = ref _types[(int)type];
        k.VecDotType = vecDotType;
        k.VecDot = dot;
        k.ToFloat = toFloat;
        if (fromFloat != null) k.FromFloat = fromFloat;
    }
}
