// AVX2 fp32 → Q8_0 (ggml's quantize_row_q8_0 AVX2 shape), byte-identical to Reference for every input.
//   amax: |x| as int bits — non-negative floats order like their bit patterns — so an int max is MathF.Max's max.
//   d and 127/amax are the scalar spec's own expressions; q = rne(x · id) with an explicit round-to-nearest-even
//   (vroundps 8) then an exact conversion; the int32 → int8 packs work per 128-bit lane, and one dword permute puts
//   the 32 bytes back in element order.
//   A block whose amax is inf or NaN (an inf or NaN input: the int max of the bits picks a NaN over everything, as
//   MathF.Max does), or whose 127/amax overflows (0 < amax < 2^-121), goes to Reference: there x·id is ±inf or NaN and
//   the spec's (sbyte) cast saturates through int32 (+inf → 0xff) where vcvttps2dq gives 0x80000000. Such blocks have
//   d = 0 or a non-finite d, so this only keeps the bytes identical; the branch is never taken on real activations.
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using X86 = System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels.Quants;

public static unsafe partial class QuantizeQ8_0
{
    public static void Avx2(float* x, byte* y, int n)
    {
        if (!X86.Avx2.IsSupported)
        {
            Reference(x, y, n);
            return;
        }
        var abs = Vector256.Create(0x7fffffff);
        var order = Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7);
        for (int b = 0; b < n / BlockQ8_0.QK; b++, x += BlockQ8_0.QK, y += sizeof(BlockQ8_0))
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
                Reference(x, y, BlockQ8_0.QK);   // NaN/inf inputs, or 127/amax overflowing: see the file header
                continue;
            }
            *(ushort*)y = Fp16.FromFloat(d);
            var idv = Vector256.Create(id);
            var i0 = Avx.ConvertToVector256Int32WithTruncation(Avx.RoundToNearestInteger(v0 * idv));
            var i1 = Avx.ConvertToVector256Int32WithTruncation(Avx.RoundToNearestInteger(v1 * idv));
            var i2 = Avx.ConvertToVector256Int32WithTruncation(Avx.RoundToNearestInteger(v2 * idv));
            var i3 = Avx.ConvertToVector256Int32WithTruncation(Avx.RoundToNearestInteger(v3 * idv));
            var q = X86.Avx2.PackSignedSaturate(X86.Avx2.PackSignedSaturate(i0, i1), X86.Avx2.PackSignedSaturate(i2, i3));
            X86.Avx2.PermuteVar8x32(q.AsInt32(), order).Store((int*)(y + 2));
        }
    }
}
