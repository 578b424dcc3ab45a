// AVX2 pieces shared by the Q5_K, Q3_K and Q2_K · Q8_K dots (DotQ5_KQ8_K.Avx2.cs, DotQ3_KQ8_K.Avx2.cs,
// DotQ2_KQ8_K.Avx2.cs).
//   Scales: the spec's per-block products d = d_a·fp32(d_w) (and dmin) are formed for a group of 8 super-blocks at
//   once: one gather of the Q8_K fp32 d's and one gather of the 4 bytes holding the weight's fp16 d (and dmin),
//   converted with Fp16Vector (bit-exact with Fp16.ToFloat), kept on the stack for the loop's broadcasts. Lanes past
//   the group's count repeat its last block, so a gather never leaves the row.
//   Sub-block scales: Q2_K/Q3_K have 16 (one per 16 elements); as 16 int16 in a ymm (0..7 low half, 8..15 high),
//   chunk c (elements 32c..32c+31) needs sc[2c] in the low half (its first 16 bytes) and sc[2c+1] in the high one:
//   the 128-bit half holding them is broadcast to both halves once per block (vperm2i128), then one vpshufb with
//   PairMask(c & 3) per chunk. Q5_K has one scale per 32-element chunk: WordMask(j) broadcasts it.
//   Widening, integer sums and masks are plain helpers inlined into the guarded kernels (no calls in the loops).
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using LlamaAot.Kernels.Quants;
using X86 = System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels.Dot;

/// <summary>AVX2 building blocks of the K-quant dots; callers check Avx2 and Fma.</summary>
internal static unsafe class KQuantAvx2
{
    public const int Q8K = 292;        // sizeof(BlockQ8_K): fp32 d, 256 × int8, 16 × int16 bsums
    public const int QsOffset = 4;     // BlockQ8_K.Qs
    public const int BSumsOffset = 260; // BlockQ8_K.BSums
    public const int Group = 8;        // super-blocks whose scales one gather converts

    /// <summary>fp32 d of a group of up to 8 Q8_K blocks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ActScales8(byte* a, int count) =>
        X86.Avx2.GatherVector256((float*)a, IntDotAvx2.GroupOffsets(Q8K, count), 1);

    /// <summary>The 4 bytes at p of a group of up to 8 blocks `stride` apart (two fp16 fields).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Words8(byte* p, int stride, int count) =>
        X86.Avx2.GatherVector256((int*)p, IntDotAvx2.GroupOffsets(stride, count), 1);

    /// <summary>fp16 in the low 16 bits of each lane → fp32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> LowHalf(Vector256<int> words) => Fp16Vector.HalfHiToSingleArith(words << 16);

    /// <summary>fp16 in the high 16 bits of each lane → fp32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> HighHalf(Vector256<int> words) => Fp16Vector.HalfHiToSingleArith(words);

    /// <summary>−v by flipping the sign bit (exact: −(a·b) and (−a)·b round alike, zeros keep their signs).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Negate(Vector256<float> v) => v ^ Vector256.Create(-0f);

    /// <summary>vpshufb mask taking int16 2i of a 128-bit half into the low half and int16 2i+1 into the high half.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> PairMask(int i)
    {
        short lo = (short)((4 * i) | ((4 * i + 1) << 8)), hi = (short)((4 * i + 2) | ((4 * i + 3) << 8));
        return Vector256.Create(lo, lo, lo, lo, lo, lo, lo, lo, hi, hi, hi, hi, hi, hi, hi, hi).AsByte();
    }

    /// <summary>vpshufb mask broadcasting int16 j of a 128-bit half to all 16 int16s.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> WordMask(int j) => Vector256.Create((short)((2 * j) | ((2 * j + 1) << 8))).AsByte();

    /// <summary>16 unsigned bytes as int16 (bytes 0..7 in the low half, 8..15 in the high half).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<short> Widen(Vector128<byte> v) => X86.Avx2.ConvertToVector256Int16(v);

    /// <summary>The 2-bit field s (0..3) of every byte: (q &gt;&gt; 2s) &amp; 3, with immediate shifts (16-bit: at most 6
    /// bits of the next byte move in, all above bit 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> Field2(Vector256<byte> q, int s)
    {
        var v = s switch
        {
            0 => q,
            1 => X86.Avx2.ShiftRightLogical(q.AsUInt16(), 2).AsByte(),
            2 => X86.Avx2.ShiftRightLogical(q.AsUInt16(), 4).AsByte(),
            _ => X86.Avx2.ShiftRightLogical(q.AsUInt16(), 6).AsByte(),
        };
        return v & Vector256.Create((byte)3);
    }

    /// <summary>Σ of the 8 int32 lanes (exact integer; any order).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Sum(Vector256<int> v)
    {
        var t = v.GetLower() + v.GetUpper();
        t += X86.Sse2.Shuffle(t, 0b_01_00_11_10);
        t += X86.Sse2.Shuffle(t, 0b_10_11_00_01);
        return t.ToScalar();
    }
}
