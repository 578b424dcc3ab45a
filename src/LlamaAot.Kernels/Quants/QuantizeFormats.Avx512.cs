// AVX-512 activation quantizers fp32 → Q8_1 and Q8_K, byte-identical to QuantizeFormats.Q8_1 / Q8_K for every input
// (the rules are QuantizeFormats.Avx2.cs's). Q8_1: a block is two zmm, q = rne(x·id) by vrndscaleps 8 and vpmovdb
// (16 bytes in element order); non-finite amax or 127/amax → the scalar spec for that block. Q8_K: sixteen zmm per
// block; nearest_int literally, then min 127 and vpmovdb, which truncates to the low byte exactly as the spec's
// (sbyte) cast; bsums from the stored bytes (QuantizeFormats.BSums).
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using X86 = System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels.Quants;

public static unsafe partial class QuantizeFormats
{
    public static void Q8_1Avx512(float* x, byte* y, int n)
    {
        if (!Avx512F.IsSupported || !X86.Avx2.IsSupported)
        {
            Q8_1(x, y, n);
            return;
        }
        var abs = Vector512.Create(0x7fffffff);
        for (int b = 0; b < n / BlockQ8_1.QK; b++, x += BlockQ8_1.QK, y += sizeof(BlockQ8_1))
        {
            var v0 = Vector512.Load(x);
            var v1 = Vector512.Load(x + 16);
            var m = Avx512F.Max(v0.AsInt32() & abs, v1.AsInt32() & abs);
            var m8 = X86.Avx2.Max(m.GetLower(), m.GetUpper());
            var m4 = Sse41.Max(m8.GetLower(), m8.GetUpper());
            float amax = BitConverter.Int32BitsToSingle(Math.Max(Math.Max(m4.GetElement(0), m4.GetElement(1)), Math.Max(m4.GetElement(2), m4.GetElement(3))));
            float d = amax / 127f;
            float id = amax != 0 ? 127f / amax : 0f;
            if (!float.IsFinite(amax) || !float.IsFinite(id))
            {
                Q8_1(x, y, BlockQ8_1.QK);   // NaN/inf inputs, or 127/amax overflowing: see QuantizeFormats.Avx2.cs
                continue;
            }
            var idv = Vector512.Create(id);
            var i0 = Avx512F.ConvertToVector512Int32WithTruncation(Avx512F.RoundScale(v0 * idv, 8));
            var i1 = Avx512F.ConvertToVector512Int32WithTruncation(Avx512F.RoundScale(v1 * idv, 8));
            Avx512F.ConvertToVector128SByte(i0).Store((sbyte*)(y + 4));
            Avx512F.ConvertToVector128SByte(i1).Store((sbyte*)(y + 20));
            int sum = Vector512.Sum(i0 + i1);
            *(ushort*)y = Fp16.FromFloat(d);
            *(ushort*)(y + 2) = Fp16.FromFloat(d * sum);
        }
    }

    public static void Q8_KAvx512(float* x, byte* y, int n)
    {
        if (!Avx512F.IsSupported || !X86.Avx2.IsSupported)
        {
            Q8_K(x, y, n);
            return;
        }
        const int QK = BlockQ8_K.QK;
        var abs = Vector512.Create(0x7fffffff);
        var inf = Vector512.Create(0x7f800000);
        var magic = Vector512.Create(12582912f);
        var low23 = Vector512.Create(0x007fffff);
        var half = Vector512.Create(0x00400000);
        var q127 = Vector512.Create(127);
        for (int b = 0; b < n / QK; b++, x += QK, y += sizeof(BlockQ8_K))
        {
            var m = Vector512<int>.Zero;
            for (int i = 0; i < QK; i += 16)
            {
                var a = Vector512.Load(x + i).AsInt32() & abs;
                m = Avx512F.Max(m, Vector512.AndNot(a, Vector512.GreaterThan(a, inf)));   // NaNs never win
            }
            var m8 = X86.Avx2.Max(m.GetLower(), m.GetUpper());
            var m4 = Sse41.Max(m8.GetLower(), m8.GetUpper());
            int amaxBits = Math.Max(Math.Max(m4.GetElement(0), m4.GetElement(1)), Math.Max(m4.GetElement(2), m4.GetElement(3)));
            if (amaxBits == 0)
            {
                new Span<byte>(y, sizeof(BlockQ8_K)).Clear();   // the spec's all-zero block
                continue;
            }
            float max = x[First(x, amaxBits)];
            float iscale = -127f / max;
            var iv = Vector512.Create(iscale);
            for (int c = 0; c < QK; c += 16)
            {
                var t = Vector512.Load(x + c) * iv;
                var q = Vector512.Min(((t + magic).AsInt32() & low23) - half, q127);
                Avx512F.ConvertToVector128SByte(q).Store((sbyte*)(y + 4 + c));
            }
            BSums(y + 4, (short*)(y + 4 + QK));
            *(float*)y = 1 / iscale;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static int First(float* x, int bits)
        {
            var target = Vector512.Create(bits);
            var abs = Vector512.Create(0x7fffffff);
            for (int i = 0; ; i += 16)
            {
                ulong mask = Vector512.Equals(Vector512.Load(x + i).AsInt32() & abs, target).ExtractMostSignificantBits();
                if (mask != 0) return i + BitOperations.TrailingZeroCount(mask);
            }
        }
    }
}
