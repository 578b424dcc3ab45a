// Vector128 fp32 → Q8_0 (SSE and NEON machines), byte-identical to Reference for every input
// (non-finite amax or 127/amax: Reference for that block, see QuantizeQ8_0.Avx2.cs): amax as an int max
// of |x| bits (see QuantizeQ8_0.Avx2.cs), q = Vector128.Round (nearest-even) of x · id, narrowed int32 → int16 → int8
// in element order (values are within ±127, so the truncating narrows are exact).
using System.Runtime.Intrinsics;

namespace LlamaAot.Kernels.Quants;

public static unsafe partial class QuantizeQ8_0
{
    public static void V128(float* x, byte* y, int n)
    {
        if (!Vector128.IsHardwareAccelerated)
        {
            Reference(x, y, n);
            return;
        }
        var abs = Vector128.Create(0x7fffffff);
        var v = stackalloc Vector128<float>[8];
        for (int b = 0; b < n / BlockQ8_0.QK; b++, x += BlockQ8_0.QK, y += sizeof(BlockQ8_0))
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
                Reference(x, y, BlockQ8_0.QK);   // NaN/inf inputs, or 127/amax overflowing: see the file header
                continue;
            }
            *(ushort*)y = Fp16.FromFloat(d);
            var idv = Vector128.Create(id);
            for (int h = 0; h < 2; h++)
            {
                var s0 = Vector128.Narrow(Q(v[4 * h] * idv), Q(v[4 * h + 1] * idv));
                var s1 = Vector128.Narrow(Q(v[4 * h + 2] * idv), Q(v[4 * h + 3] * idv));
                Vector128.Narrow(s0, s1).Store((sbyte*)(y + 2 + 16 * h));
            }
        }

        static Vector128<int> Q(Vector128<float> t) => Vector128.ConvertToInt32(Vector128.Round(t));
    }
}
