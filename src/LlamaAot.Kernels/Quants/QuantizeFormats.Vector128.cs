// Vector128 activation quantizers fp32 → Q8_1 and Q8_K (SSE and NEON machines), byte-identical to QuantizeFormats.Q8_1
// / Q8_K for every input; the rules are QuantizeFormats.Avx2.cs's. Q8_1 is QuantizeQ8_0.V128 plus s = fp16(d·Σq).
// Q8_K: NaN-free int max of |x| bits, first element of that magnitude by movemask, nearest_int literally, min 127,
// and Vector128.Narrow twice (truncating int32 → int16 → int8, the spec's (sbyte) cast); bsums from the
// sign-extended low bytes. The Q8_K core is shared with the NEON entry (it uses portable operators only).
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace LlamaAot.Kernels.Quants;

public static unsafe partial class QuantizeFormats
{
    public static void Q8_1V128(float* x, byte* y, int n)
    {
        if (!Vector128.IsHardwareAccelerated)
        {
            Q8_1(x, y, n);
            return;
        }
        var abs = Vector128.Create(0x7fffffff);
        var v = stackalloc Vector128<float>[8];
        for (int b = 0; b < n / BlockQ8_1.QK; b++, x += BlockQ8_1.QK, y += sizeof(BlockQ8_1))
        {
            var m = Vector128<int>.Zero;
            for (int i = 0; i < 8; i++)
            {
                v[i] = Vector128.Load(x + 4 * i);
                m = Vector128.Max(m, v[i].AsInt32() & abs);
            }
            float amax = BitConverter.Int32BitsToSingle(Math.Max(Math.Max(m.GetElement(0), m.GetElement(1)), Math.Max(m.GetElement(2), m.GetElement(3))));
            float d = amax / 127f;
            float id = amax != 0 ? 127f / amax : 0f;
            if (!float.IsFinite(amax) || !float.IsFinite(id))
            {
                Q8_1(x, y, BlockQ8_1.QK);   // NaN/inf inputs, or 127/amax overflowing: see QuantizeFormats.Avx2.cs
                continue;
            }
            var idv = Vector128.Create(id);
            var sum = Vector128<int>.Zero;
            for (int h = 0; h < 2; h++)
            {
                var q0 = Q(v[4 * h] * idv);
                var q1 = Q(v[4 * h + 1] * idv);
                var q2 = Q(v[4 * h + 2] * idv);
                var q3 = Q(v[4 * h + 3] * idv);
                sum += (q0 + q1) + (q2 + q3);
                Vector128.Narrow(Vector128.Narrow(q0, q1), Vector128.Narrow(q2, q3)).Store((sbyte*)(y + 4 + 16 * h));
            }
            *(ushort*)y = Fp16.FromFloat(d);
            *(ushort*)(y + 2) = Fp16.FromFloat(d * Vector128.Sum(sum));
        }

        static Vector128<int> Q(Vector128<float> t) => Vector128.ConvertToInt32(Vector128.Round(t));
    }

    public static void Q8_KV128(float* x, byte* y, int n)
    {
        if (!Vector128.IsHardwareAccelerated)
        {
            Q8_K(x, y, n);
            return;
        }
        Q8_KCore128(x, y, n);
    }

    /// <summary>The Vector128 Q8_K quantizer; callers check Vector128 acceleration.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Q8_KCore128(float* x, byte* y, int n)
    {
        const int QK = BlockQ8_K.QK;
        var abs = Vector128.Create(0x7fffffff);
        var inf = Vector128.Create(0x7f800000);
        var magic = Vector128.Create(12582912f);
        var low23 = Vector128.Create(0x007fffff);
        var half = Vector128.Create(0x00400000);
        var q127 = Vector128.Create(127);
        for (int b = 0; b < n / QK; b++, x += QK, y += sizeof(BlockQ8_K))
        {
            var m = Vector128<int>.Zero;
            for (int i = 0; i < QK; i += 4)
            {
                var a = Vector128.Load(x + i).AsInt32() & abs;
                m = Vector128.Max(m, Vector128.AndNot(a, Vector128.GreaterThan(a, inf)));   // NaNs never win
            }
            int amaxBits = Math.Max(Math.Max(m.GetElement(0), m.GetElement(1)), Math.Max(m.GetElement(2), m.GetElement(3)));
            if (amaxBits == 0)
            {
                new Span<byte>(y, sizeof(BlockQ8_K)).Clear();   // the spec's all-zero block
                continue;
            }
            int first = 0;
            var target = Vector128.Create(amaxBits);
            for (int i = 0; ; i += 4)
            {
                uint mask = Vector128.Equals(Vector128.Load(x + i).AsInt32() & abs, target).ExtractMostSignificantBits();
                if (mask != 0)
                {
                    first = i + BitOperations.TrailingZeroCount(mask);
                    break;
                }
            }
            float iscale = -127f / x[first];
            var iv = Vector128.Create(iscale);
            short* bsums = (short*)(y + 4 + QK);
            for (int c = 0; c < QK; c += 16)
            {
                var q0 = Q(Vector128.Load(x + c) * iv);
                var q1 = Q(Vector128.Load(x + c + 4) * iv);
                var q2 = Q(Vector128.Load(x + c + 8) * iv);
                var q3 = Q(Vector128.Load(x + c + 12) * iv);
                Vector128.Narrow(Vector128.Narrow(q0, q1), Vector128.Narrow(q2, q3)).Store((sbyte*)(y + 4 + c));
                bsums[c / 16] = (short)Vector128.Sum((Ext(q0) + Ext(q1)) + (Ext(q2) + Ext(q3)));
            }
            *(float*)y = 1 / iscale;

            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            Vector128<int> Q(Vector128<float> t) => Vector128.Min(((t + magic).AsInt32() & low23) - half, q127);
        }

        // The low byte of each lane, sign-extended: the value the spec's (sbyte) cast stores.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static Vector128<int> Ext(Vector128<int> q) => (q << 24) >> 24;
    }
}
