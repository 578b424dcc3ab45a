// Vector128 Q4_0 · Q8_0 dots, both specs, portable Vector128 operators only (SSE and NEON machines). A block's
// weights are (low nibble − 8) for elements 0..15 and (high nibble − 8) for 16..31, formed as bytes and fed to the
// same quad sums as Q8_0 (IntDotV128.Quads in DotQ8_0Q8_0.Vector128.cs; |w| ≤ 8 keeps every int16 exact).
// Reference order: two Vector128 lane groups, one fma per lane per block. Blockwise: the block's lanes summed to sumi,
// then the scalar fma chain.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotQ4_0Q8_0
{
    public static float V128(byte* w, byte* a, int n)
    {
        if (!Vector128.IsHardwareAccelerated) return Reference(w, a, n);
        var lo = Vector128<float>.Zero;
        var hi = Vector128<float>.Zero;
        for (int b = 0; b < n / BlockQ4_0.QK; b++, w += sizeof(BlockQ4_0), a += sizeof(BlockQ8_0))
        {
            var d = Vector128.Create(IntDotV128.Scale(w, a));
            var q = Vector128.Load(w + 2);
            var l0 = IntDotV128.Quads(LowWeights(q), Vector128.Load((sbyte*)(a + 2)));
            var l1 = IntDotV128.Quads(HighWeights(q), Vector128.Load((sbyte*)(a + 18)));
            lo = Vector128.FusedMultiplyAdd(d, Vector128.ConvertToSingle(l0), lo);
            hi = Vector128.FusedMultiplyAdd(d, Vector128.ConvertToSingle(l1), hi);
        }
        return IntDotV128.Hsum8(lo, hi);
    }

    public static float V128Blockwise(byte* w, byte* a, int n)
    {
        if (!Vector128.IsHardwareAccelerated) return ReferenceBlockwise(w, a, n);
        float acc = 0;
        for (int b = 0; b < n / BlockQ4_0.QK; b++, w += sizeof(BlockQ4_0), a += sizeof(BlockQ8_0))
        {
            var q = Vector128.Load(w + 2);
            var l0 = IntDotV128.Quads(LowWeights(q), Vector128.Load((sbyte*)(a + 2)));
            var l1 = IntDotV128.Quads(HighWeights(q), Vector128.Load((sbyte*)(a + 18)));
            acc = MathF.FusedMultiplyAdd(Vector128.Sum(l0 + l1), IntDotV128.Scale(w, a), acc);
        }
        return acc;
    }

    /// <summary>Elements 0..15 of a block: low nibbles − 8.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<sbyte> LowWeights(Vector128<byte> q) => ((q & Vector128.Create((byte)0x0F)) - Vector128.Create((byte)8)).AsSByte();

    /// <summary>Elements 16..31 of a block: high nibbles − 8.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<sbyte> HighWeights(Vector128<byte> q) => ((q >>> 4) - Vector128.Create((byte)8)).AsSByte();
}
