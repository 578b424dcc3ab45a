// Building blocks and shared AVX2 kernels of the Q4_0·Q8_0 (8-lane order), Q4_1·Q8_1, Q5_0·Q8_0 and Q5_1·Q8_1 SIMD dots (the order they follow is
// LegacyOrder.cs; the Q8_0/Q4_0 pieces they reuse are IntDotAvx2 / IntDotV128 / IntDotNeon).
//   Weights stay unsigned: Q4_1's nibbles 0..15 and Q5's 5-bit values 0..31 (nibble | qh bit << 4) go straight into
//   the quad sums as the unsigned (AVX2 vpmaddubsw) or small non-negative signed (Vector128/NEON) operand. Q5_0's
//   "− 16" is applied as Σ q·a − 16·Σ a per int16 pair (|Σ q·a| ≤ 2·31·128, |16·Σ a| ≤ 4096: nothing saturates),
//   the same trick as Q4_0's "− 8". Integer lanes are exact, so any grouping gives the spec's lane values.
//   qh → bytes: byte j of a 32-byte vector takes byte j/8 of qh (a byte shuffle), is tested against bit j % 8, and
//   becomes 0x10 where the bit is set.
//   Scales: d = fp16(d_w)·fp16(d_a) and, for the formats with a minimum, m_w·s_a, both as the spec's fp32 products,
//   for a group of up to eight blocks; Q4_1/Q5_1 and Q8_1 keep both halves in a block's first dword, so one set of
//   eight dword loads per side (IntDotAvx2.Words8, no gathers) serves d and m (ScalesAndMins8).
//   No AVX-512 intrinsic variants: on this Zen 4 the single row is bound by its fma chain (one fma per block, the spec's
//   order) and Q4_0's two-blocks-per-zmm shape measured no faster than AVX2, for these formats too. Decode on the
//   AVX-512 path runs four rows at once in emitted code instead (LegacyDecode.cs).
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.Quants;
using X86 = System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels.Dot;

/// <summary>AVX2 pieces of the legacy dots; callers check Avx2 and Fma.</summary>
internal static unsafe class LegacyAvx2
{
    public const int Q4_1 = 20;   // fp16 d, fp16 m, 16 bytes of nibbles
    public const int Q5_0 = 22;   // fp16 d, 4 bytes qh, 16 bytes of nibbles
    public const int Q5_1 = 24;   // fp16 d, fp16 m, 4 bytes qh, 16 bytes of nibbles
    public const int Q8_1 = 36;   // fp16 d, fp16 s, 32 × int8

    /// <summary>p[k] = fp32(half at w + k·wStride) · fp32(half at a + k·aStride) for a group of `count` blocks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Products8(byte* w, int wStride, byte* a, int aStride, int count) =>
        IntDotAvx2.Halves8(w, wStride, count) * IntDotAvx2.Halves8(a, aStride, count);

    /// <summary>For a group of `count` blocks whose first 4 bytes are two halves (Q4_1/Q5_1: d, m; Q8_1: d, s):
    /// d[k] = d_w·d_a and m[k] = m_w·s_a, from one Words8 per side (the low half of each dword is d, the high half the
    /// second value; Fp16Vector's widening ignores a lane's low 16 bits).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ScalesAndMins8(byte* w, int wStride, byte* a, int aStride, int count, float* d, float* m)
    {
        var gw = IntDotAvx2.Words8(w, wStride, count);
        var ga = IntDotAvx2.Words8(a, aStride, count);
        (Fp16Vector.HalfHiToSingleArith(gw << 16) * Fp16Vector.HalfHiToSingleArith(ga << 16)).Store(d);
        (Fp16Vector.HalfHiToSingleArith(gw) * Fp16Vector.HalfHiToSingleArith(ga)).Store(m);
    }

    /// <summary>Byte j = 0x10 where bit j of the little-endian uint32 at qh is set, else 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> HighBits(byte* qh)
    {
        var v = Vector256.Create(*(uint*)qh).AsByte();
        var spread = X86.Avx2.Shuffle(v, Vector256.Create(
            (byte)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
        var bit = Vector256.Create(0x8040201008040201UL).AsByte();
        return Vector256.Equals(spread & bit, bit) & Vector256.Create((byte)0x10);
    }

    /// <summary>The 32 five-bit values of a Q5 block (qs: its 16 nibble bytes; qh: its 4 high-bit bytes), element order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> Q5Values(byte* qs, byte* qh) => IntDotAvx2.Nibbles(qs) | HighBits(qh);

    /// <summary>Lane j = Σ u[i]·y[i], i = 4j..4j+3, u unsigned ≤ 31.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> UnsignedLanes(Vector256<byte> u, Vector256<sbyte> y) =>
        X86.Avx2.MultiplyAddAdjacent(X86.Avx2.MultiplyAddAdjacent(u, y), Vector256<short>.One);

    /// <summary>16·(y[2i] + y[2i+1]) as int16: Q5_0's "− 16" per activation block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<short> Sixteens(Vector256<sbyte> y) => X86.Avx2.MultiplyAddAdjacent(Vector256.Create((byte)16), y);

    /// <summary>Lane j = Σ (u[i] − 16)·y[i], i = 4j..4j+3.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> OffsetLanes(Vector256<byte> u, Vector256<sbyte> y, Vector256<short> sixteens) =>
        X86.Avx2.MultiplyAddAdjacent(X86.Avx2.MultiplyAddAdjacent(u, y) - sixteens, Vector256<short>.One);
}

/// <summary>A legacy format without a minimum whose weights are an unsigned value minus a fixed offset (Q4_0:
/// nibble − 8, Q5_0: 5-bit value − 16): block size, the 32 unsigned values in element order, and the offset's share
/// per int16 pair of activations (offset·(a_i + a_i+1)), subtracted before the quad sums.</summary>
internal unsafe interface IOffsetBlockAvx2
{
    static abstract int Bytes { get; }
    static abstract Vector256<byte> Values(byte* block);
    static abstract Vector256<short> Offsets(Vector256<sbyte> activations);
}

internal readonly unsafe struct Q4_0Avx2 : IOffsetBlockAvx2
{
    public static int Bytes
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => IntDotAvx2.Q4;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> Values(byte* block) => IntDotAvx2.Nibbles(block + 2);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<short> Offsets(Vector256<sbyte> activations) => IntDotAvx2.Eights(activations);
}

internal readonly unsafe struct Q5_0Avx2 : IOffsetBlockAvx2
{
    public static int Bytes
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => LegacyAvx2.Q5_0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> Values(byte* block) => LegacyAvx2.Q5Values(block + 6, block + 2);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<short> Offsets(Vector256<sbyte> activations) => LegacyAvx2.Sixteens(activations);
}

/// <summary>The AVX2 Q4_0·Q8_0 and Q5_0·Q8_0 kernels in llama.cpp's 8-lane order (LegacyOrder.Dot): unsigned values
/// into vpmaddubsw, the offset taken off per int16 pair, one fma per lane per block into a ymm accumulator, then
/// Hsum8. The offset term depends only on the activation, so Rows4 forms it once per block for its four rows.
/// Callers check Avx2 and Fma.</summary>
internal static unsafe class OffsetDotAvx2<T> where T : struct, IOffsetBlockAvx2
{
    public static float Dot(byte* w, byte* a, int n)
    {
        int W = T.Bytes;
        const int A = IntDotAvx2.Q8;
        int nb = n / LegacyOrder.QK;
        float* d = stackalloc float[IntDotAvx2.Group];
        var acc = Vector256<float>.Zero;
        for (int b0 = 0; b0 < nb; b0 += IntDotAvx2.Group)
        {
            int count = Math.Min(IntDotAvx2.Group, nb - b0);
            byte* x = w + b0 * W, y = a + b0 * A;
            LegacyAvx2.Products8(x, W, y, A, count).Store(d);
            for (int k = 0; k < count; k++, x += W, y += A)
            {
                var yv = Vector256.Load((sbyte*)(y + 2));
                var lanes = LegacyAvx2.OffsetLanes(T.Values(x), yv, T.Offsets(yv));
                acc = Fma.MultiplyAdd(Vector256.Create(d[k]), Avx.ConvertToVector256Single(lanes), acc);
            }
        }
        return IntDotAvx2.Hsum8(acc);
    }

    public static void Rows4(byte* w, long rowBytes, byte* a, int n, float* y)
    {
        int W = T.Bytes;
        const int A = IntDotAvx2.Q8;
        int nb = n / LegacyOrder.QK;
        float* da = stackalloc float[IntDotAvx2.Group];
        float* d = stackalloc float[4];
        var acc0 = Vector256<float>.Zero;
        var acc1 = Vector256<float>.Zero;
        var acc2 = Vector256<float>.Zero;
        var acc3 = Vector256<float>.Zero;
        byte* w1 = w + rowBytes, w2 = w + 2 * rowBytes, w3 = w + 3 * rowBytes;
        for (int b0 = 0; b0 < nb; b0 += IntDotAvx2.Group)
        {
            int count = Math.Min(IntDotAvx2.Group, nb - b0);
            IntDotAvx2.Halves8(a + b0 * A, A, count).Store(da);
            for (int k = 0, ow = b0 * W, oa = b0 * A; k < count; k++, ow += W, oa += A)
            {
                (IntDotAvx2.Halves4(w + ow, rowBytes) * Vector128.Create(da[k])).Store(d);
                var yv = Vector256.Load((sbyte*)(a + oa + 2));
                var e = T.Offsets(yv);
                var l0 = LegacyAvx2.OffsetLanes(T.Values(w + ow), yv, e);
                var l1 = LegacyAvx2.OffsetLanes(T.Values(w1 + ow), yv, e);
                var l2 = LegacyAvx2.OffsetLanes(T.Values(w2 + ow), yv, e);
                var l3 = LegacyAvx2.OffsetLanes(T.Values(w3 + ow), yv, e);
                acc0 = Fma.MultiplyAdd(Vector256.Create(d[0]), Avx.ConvertToVector256Single(l0), acc0);
                acc1 = Fma.MultiplyAdd(Vector256.Create(d[1]), Avx.ConvertToVector256Single(l1), acc1);
                acc2 = Fma.MultiplyAdd(Vector256.Create(d[2]), Avx.ConvertToVector256Single(l2), acc2);
                acc3 = Fma.MultiplyAdd(Vector256.Create(d[3]), Avx.ConvertToVector256Single(l3), acc3);
            }
        }
        y[0] = IntDotAvx2.Hsum8(acc0);
        y[1] = IntDotAvx2.Hsum8(acc1);
        y[2] = IntDotAvx2.Hsum8(acc2);
        y[3] = IntDotAvx2.Hsum8(acc3);
    }
}

/// <summary>A legacy format with a minimum (Q4_1, Q5_1): block size and its 32 unsigned values in element order.
/// Generic code over these structs is specialised per format, so the shared kernels below cost no call.</summary>
internal unsafe interface IMinBlockAvx2
{
    static abstract int Bytes { get; }
    static abstract Vector256<byte> Values(byte* block);
}

internal readonly unsafe struct Q4_1Avx2 : IMinBlockAvx2
{
    public static int Bytes
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => LegacyAvx2.Q4_1;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> Values(byte* block) => IntDotAvx2.Nibbles(block + 4);
}

internal readonly unsafe struct Q5_1Avx2 : IMinBlockAvx2
{
    public static int Bytes
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => LegacyAvx2.Q5_1;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> Values(byte* block) => LegacyAvx2.Q5Values(block + 8, block + 4);
}

/// <summary>The AVX2 Q4_1·Q8_1 and Q5_1·Q8_1 kernels (LegacyOrder.Dot: one fma per lane per block into a ymm, the
/// minimum's share m_w·s_a in a separate scalar in block order, added after Hsum8). Rows4 shares each activation
/// block between four rows; their mins run in the four lanes of one xmm. Callers check Avx2 and Fma.</summary>
internal static unsafe class MinDotAvx2<T> where T : struct, IMinBlockAvx2
{
    public static float Dot(byte* w, byte* a, int n)
    {
        int W = T.Bytes;
        const int A = LegacyAvx2.Q8_1;
        int nb = n / LegacyOrder.QK;
        float* d = stackalloc float[IntDotAvx2.Group];
        float* m = stackalloc float[IntDotAvx2.Group];
        var acc = Vector256<float>.Zero;
        float mins = 0;
        for (int b0 = 0; b0 < nb; b0 += IntDotAvx2.Group)
        {
            int count = Math.Min(IntDotAvx2.Group, nb - b0);
            byte* x = w + b0 * W, y = a + b0 * A;
            LegacyAvx2.ScalesAndMins8(x, W, y, A, count, d, m);
            for (int k = 0; k < count; k++, x += W, y += A)
            {
                var lanes = LegacyAvx2.UnsignedLanes(T.Values(x), Vector256.Load((sbyte*)(y + 4)));
                acc = Fma.MultiplyAdd(Vector256.Create(d[k]), Avx.ConvertToVector256Single(lanes), acc);
                mins += m[k];
            }
        }
        return IntDotAvx2.Hsum8(acc) + mins;
    }

    public static void Rows4(byte* w, long rowBytes, byte* a, int n, float* y)
    {
        int W = T.Bytes;
        const int A = LegacyAvx2.Q8_1;
        int nb = n / LegacyOrder.QK;
        float* da = stackalloc float[IntDotAvx2.Group];
        float* sa = stackalloc float[IntDotAvx2.Group];
        float* d = stackalloc float[4];
        var acc0 = Vector256<float>.Zero;
        var acc1 = Vector256<float>.Zero;
        var acc2 = Vector256<float>.Zero;
        var acc3 = Vector256<float>.Zero;
        var mins = Vector128<float>.Zero;
        byte* w1 = w + rowBytes, w2 = w + 2 * rowBytes, w3 = w + 3 * rowBytes;
        for (int b0 = 0; b0 < nb; b0 += IntDotAvx2.Group)
        {
            int count = Math.Min(IntDotAvx2.Group, nb - b0);
            var ga = IntDotAvx2.Words8(a + b0 * A, A, count);   // (d, s) pairs
            Fp16Vector.HalfHiToSingleArith(ga << 16).Store(da);
            Fp16Vector.HalfHiToSingleArith(ga).Store(sa);
            for (int k = 0, ow = b0 * W, oa = b0 * A; k < count; k++, ow += W, oa += A)
            {
                var gw = Vector128.Create(*(int*)(w + ow), *(int*)(w1 + ow), *(int*)(w2 + ow), *(int*)(w3 + ow));   // the four rows' (d, m) pairs
                (Fp16Vector.HalfHiToSingleArith(gw << 16) * Vector128.Create(da[k])).Store(d);
                mins += Fp16Vector.HalfHiToSingleArith(gw) * Vector128.Create(sa[k]);
                var yv = Vector256.Load((sbyte*)(a + oa + 4));
                var l0 = LegacyAvx2.UnsignedLanes(T.Values(w + ow), yv);
                var l1 = LegacyAvx2.UnsignedLanes(T.Values(w1 + ow), yv);
                var l2 = LegacyAvx2.UnsignedLanes(T.Values(w2 + ow), yv);
                var l3 = LegacyAvx2.UnsignedLanes(T.Values(w3 + ow), yv);
                acc0 = Fma.MultiplyAdd(Vector256.Create(d[0]), Avx.ConvertToVector256Single(l0), acc0);
                acc1 = Fma.MultiplyAdd(Vector256.Create(d[1]), Avx.ConvertToVector256Single(l1), acc1);
                acc2 = Fma.MultiplyAdd(Vector256.Create(d[2]), Avx.ConvertToVector256Single(l2), acc2);
                acc3 = Fma.MultiplyAdd(Vector256.Create(d[3]), Avx.ConvertToVector256Single(l3), acc3);
            }
        }
        y[0] = IntDotAvx2.Hsum8(acc0) + mins.GetElement(0);
        y[1] = IntDotAvx2.Hsum8(acc1) + mins.GetElement(1);
        y[2] = IntDotAvx2.Hsum8(acc2) + mins.GetElement(2);
        y[3] = IntDotAvx2.Hsum8(acc3) + mins.GetElement(3);
    }
}

/// <summary>Vector128 (and NEON) pieces of the legacy dots; callers check Vector128.IsHardwareAccelerated.</summary>
internal static unsafe class LegacyV128
{
    /// <summary>Q4_1 weights of elements 0..15 (low nibbles) and 16..31 (high nibbles) as bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector128<sbyte> Lo, Vector128<sbyte> Hi) Nibbles(byte* qs)
    {
        var q = Vector128.Load(qs);
        return ((q & Vector128.Create((byte)0x0F)).AsSByte(), (q >>> 4).AsSByte());
    }

    /// <summary>Byte j = 0x10 where bit (16·half + j) of the uint32 at qh is set (half 0: elements 0..15, 1: 16..31).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector128<byte> Lo, Vector128<byte> Hi) HighBits(byte* qh)
    {
        var v = Vector128.Create(*(uint*)qh).AsByte();
        var bit = Vector128.Create(0x8040201008040201UL).AsByte();
        var sixteen = Vector128.Create((byte)0x10);
        var lo = Vector128.Shuffle(v, Vector128.Create((byte)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
        var hi = Vector128.Shuffle(v, Vector128.Create((byte)2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
        return (Vector128.Equals(lo & bit, bit) & sixteen, Vector128.Equals(hi & bit, bit) & sixteen);
    }

    /// <summary>The 5-bit values of a Q5 block minus `offset` (16 for Q5_0, 0 for Q5_1), as signed bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector128<sbyte> Lo, Vector128<sbyte> Hi) Q5Weights(byte* qs, byte* qh, byte offset)
    {
        var (nl, nh) = Nibbles(qs);
        var (hl, hh) = HighBits(qh);
        var o = Vector128.Create(offset);
        return (((nl.AsByte() | hl) - o).AsSByte(), ((nh.AsByte() | hh) - o).AsSByte());
    }
}
