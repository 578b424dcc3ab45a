// Scalar IEEE half and bfloat16 conversions (round-to-nearest-even, as F16C and ggml's fp32_to_fp16 do).
using System.Runtime.CompilerServices;

namespace LlamaAot.Kernels.Quants;

public static class Fp16
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToFloat(ushort h) => (float)BitConverter.UInt16BitsToHalf(h);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort FromFloat(float f) => BitConverter.HalfToUInt16Bits((Half)f);

    /// <summary>bf16 is the top half of an fp32: widening is a shift.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float BF16ToFloat(ushort b) => BitConverter.Int32BitsToSingle(b << 16);

    /// <summary>fp32 → bf16 with round-to-nearest-even; NaN stays a quiet NaN (ggml_compute_fp32_to_bf16).</summary>
    public static ushort FloatToBF16(float f)
    {
        uint u = BitConverter.SingleToUInt32Bits(f);
        if ((u & 0x7fffffff) > 0x7f800000) return (ushort)((u >> 16) | 64);
        return (ushort)((u + (0x7fff + ((u >> 16) & 1))) >> 16);
    }

    /// <summary>Rounds a float through fp16 and back (what storing into an F16 buffer does to it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Round(float f) => ToFloat(FromFloat(f));
}
