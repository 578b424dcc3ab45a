// AVX-512 fp32 → Q8_0, byte-identical to Reference for every input (non-finite
// amax or 127/amax: Reference for that block, see QuantizeQ8_0.Avx2.cs): a block is two zmm; amax as in
// QuantizeQ8_0.Avx2.cs (int max of |x| bits); q = rne(x · id) by vrndscaleps (imm 8: nearest-even, no precision
// exception), an exact conversion and vpmovdb, which writes 16 bytes in element order.
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using X86 = System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels.Quants;

public static unsafe partial class QuantizeQ8_0
{
    public static void Avx512(float* x, byte* y, int n)
    {
        if (!Avx512F.IsSupported || !X86.Avx2.IsSupported)
        {
            Reference(x, y, n);
            return;
        }
        var abs = Vector512.Create(0x7fffffff);
        for (int b = 0; b < n / BlockQ8_0.QK; b++, x += BlockQ8_0.QK, y += sizeof(BlockQ8_0))
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
                Reference(x, y, BlockQ8_0.QK);   // NaN/inf inputs, or 127/amax overflowing: see the file header
                continue;
            }
            *(ushort*)y = Fp16.FromFloat(d);
            var idv = Vector512.Create(id);
            Avx512F.ConvertToVector128SByte(Avx512F.ConvertToVector512Int32WithTruncation(Avx512F.RoundScale(v0 * idv, 8))).Store((sbyte*)(y + 2));
            Avx512F.ConvertToVector128SByte(Avx512F.ConvertToVector512Int32WithTruncation(Avx512F.RoundScale(v1 * idv, 8))).Store((sbyte*)(y + 18));
        }
    }
}
