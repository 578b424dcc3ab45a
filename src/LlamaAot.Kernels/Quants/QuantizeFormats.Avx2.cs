// AVX2 activation quantizers fp32 → Q8_1 and Q8_K, byte-identical to QuantizeFormats.Q8_1 / Q8_K for every input.
//   Q8_1: QuantizeQ8_0.Avx2's shape (amax as an int max of |x| bits; d and 127/amax by the scalar expressions;
//   q = rne(x·id) by vroundps 8 and an exact conversion; packs and one dword permute), plus s = fp16(d·Σq) with Σq
//   summed from the int32 quants. A block with a non-finite amax or 127/amax goes to the scalar spec (see
//   QuantizeQ8_0.Avx2.cs: there the spec's casts saturate differently from vcvttps2dq).
//   Q8_K: max is the first value of largest |x| (the spec's strict '>' scan skips NaNs): amax is the int max of |x| bits
//   with NaN bit patterns (above 0x7f800000) zeroed, and the first element whose |x| bits equal it is found with
//   movemasks. q = min(127, nearest_int(iscale·x)) reproduced literally — (iscale·x + 12582912f) as int bits, low 23
//   bits − 2^22 — then truncated to its low byte, as the spec's (sbyte) cast does; so out-of-range products (inf,
//   NaN, huge) give the spec's bytes too and no block needs the scalar path. The multiply and the add stay separate
//   roundings (the JIT never contracts them into an fma). bsums from the stored bytes: vpsadbw of (q ^ 0x80) against
//   zero sums 8 biased bytes per qword, minus 8·128 per qword.
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using X86 = System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels.Quants;

public static unsafe partial class QuantizeFormats
{
    public static void Q8_1Avx2(float* x, byte* y, int n)
    {
        if (!X86.Avx2.IsSupported)
        {
            Q8_1(x, y, n);
            return;
        }
        var abs = Vector256.Create(0x7fffffff);
        var order = Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7);
        for (int b = 0; b < n / BlockQ8_1.QK; b++, x += BlockQ8_1.QK, y += sizeof(BlockQ8_1))
        {
            var v0 = Vector256.Load(x);
            var v1 = Vector256.Load(x + 8);
            var v2 = Vector256.Load(x + 16);
            var v3 = Vector256.Load(x + 24);
            var m = X86.Avx2.Max(X86.Avx2.Max(v0.AsInt32() & abs, v1.AsInt32() & abs), X86.Avx2.Max(v2.AsInt32() & abs, v3.AsInt32() & abs));
            var m4 = Sse41.Max(m.GetLower(), m.GetUpper());
            float amax = BitConverter.Int32BitsToSingle(Math.Max(Math.Max(m4.GetElement(0), m4.GetElement(1)), Math.Max(m4.GetElement(2), m4.GetElement(3))));
            float d = amax / 127f;
            float id = amax != 0 ? 127f / amax : 0f;
            if (!float.IsFinite(amax) || !float.IsFinite(id))
            {
                Q8_1(x, y, BlockQ8_1.QK);   // NaN/inf inputs, or 127/amax overflowing: see the file header
                continue;
            }
            var idv = Vector256.Create(id);
            var i0 = Avx.ConvertToVector256Int32WithTruncation(Avx.RoundToNearestInteger(v0 * idv));
            var i1 = Avx.ConvertToVector256Int32WithTruncation(Avx.RoundToNearestInteger(v1 * idv));
            var i2 = Avx.ConvertToVector256Int32WithTruncation(Avx.RoundToNearestInteger(v2 * idv));
            var i3 = Avx.ConvertToVector256Int32WithTruncation(Avx.RoundToNearestInteger(v3 * idv));
            var q = X86.Avx2.PackSignedSaturate(X86.Avx2.PackSignedSaturate(i0, i1), X86.Avx2.PackSignedSaturate(i2, i3));
            X86.Avx2.PermuteVar8x32(q.AsInt32(), order).Store((int*)(y + 4));
            int sum = Vector256.Sum((i0 + i1) + (i2 + i3));
            *(ushort*)y = Fp16.FromFloat(d);
            *(ushort*)(y + 2) = Fp16.FromFloat(d * sum);
        }
    }

    public static void Q8_KAvx2(float* x, byte* y, int n)
    {
        if (!X86.Avx2.IsSupported)
        {
            Q8_K(x, y, n);
            return;
        }
        const int QK = BlockQ8_K.QK;
        var abs = Vector256.Create(0x7fffffff);
        var inf = Vector256.Create(0x7f800000);
        var order = Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7);
        var magic = Vector256.Create(12582912f);
        var low23 = Vector256.Create(0x007fffff);
        var half = Vector256.Create(0x00400000);
        var q127 = Vector256.Create(127);
        var lowByte = Vector256.Create(0xff);
        for (int b = 0; b < n / QK; b++, x += QK, y += sizeof(BlockQ8_K))
        {
            var m = Vector256<int>.Zero;
            for (int i = 0; i < QK; i += 8)
            {
                var a = Vector256.Load(x + i).AsInt32() & abs;
                m = X86.Avx2.Max(m, Vector256.AndNot(a, Vector256.GreaterThan(a, inf)));   // NaNs never win
            }
            var m4 = Sse41.Max(m.GetLower(), m.GetUpper());
            int amaxBits = Math.Max(Math.Max(m4.GetElement(0), m4.GetElement(1)), Math.Max(m4.GetElement(2), m4.GetElement(3)));
            if (amaxBits == 0)
            {
                new Span<byte>(y, sizeof(BlockQ8_K)).Clear();   // the spec's all-zero block
                continue;
            }
            float max = x[FirstWithBits(x, amaxBits)];
            float iscale = -127f / max;
            var iv = Vector256.Create(iscale);
            for (int c = 0; c < QK; c += 32)
            {
                var i0 = Q(Vector256.Load(x + c) * iv);
                var i1 = Q(Vector256.Load(x + c + 8) * iv);
                var i2 = Q(Vector256.Load(x + c + 16) * iv);
                var i3 = Q(Vector256.Load(x + c + 24) * iv);
                // Values 0..255: the signed int32 → int16 and unsigned int16 → uint8 packs are exact.
                var q = X86.Avx2.PackUnsignedSaturate(X86.Avx2.PackSignedSaturate(i0, i1), X86.Avx2.PackSignedSaturate(i2, i3));
                X86.Avx2.PermuteVar8x32(q.AsInt32(), order).Store((int*)(y + 4 + c));
            }
            BSums(y + 4, (short*)(y + 4 + QK));
            *(float*)y = 1 / iscale;

            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            Vector256<int> Q(Vector256<float> t) =>
                Vector256.Min(((t + magic).AsInt32() & low23) - half, q127) & lowByte;
        }
    }

    /// <summary>Index of the first of 256 values whose |x| bits equal `bits` (one exists).</summary>
    private static int FirstWithBits(float* x, int bits)
    {
        var target = Vector256.Create(bits);
        var abs = Vector256.Create(0x7fffffff);
        for (int i = 0; ; i += 8)
        {
            uint mask = Vector256.Equals(Vector256.Load(x + i).AsInt32() & abs, target).ExtractMostSignificantBits();
            if (mask != 0) return i + BitOperations.TrailingZeroCount(mask);
        }
    }

    /// <summary>Q8_K bsums of 256 stored quants: each 16 bytes summed as int8 (vpsadbw on the bytes biased by 128).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void BSums(byte* qs, short* bsums)
    {
        var bias = Vector256.Create((byte)0x80);
        for (int c = 0; c < 8; c++)
        {
            var s = X86.Avx2.SumAbsoluteDifferences(Vector256.Load(qs + 32 * c) ^ bias, Vector256<byte>.Zero).AsInt64();
            bsums[2 * c] = (short)(s.GetElement(0) + s.GetElement(1) - 2048);
            bsums[2 * c + 1] = (short)(s.GetElement(2) + s.GetElement(3) - 2048);
        }
    }
}
