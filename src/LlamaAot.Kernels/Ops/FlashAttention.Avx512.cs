// Flash attention, AVX-512: FlashAttention.Grouped with 16-lane loops; an fp16 accumulator is rounded with
// Fp16Vector.RoundToHalf after every update, so it holds what the spec's fp16 bits hold.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.Dot;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Ops;

public static unsafe partial class FlashAttention
{
    public static void Avx512(AttentionArgs* p)
    {
        if (!Avx512F.IsSupported) { Reference(p); return; }
        Grouped<Avx512Lanes>(p);
    }

    private readonly struct Avx512Lanes : IAttentionLanes
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Dot(float* x, float* y, int n) => DotF32F32.Avx512Zmm((byte*)x, (byte*)y, n);

        public static void Exp(float* x, float* y, int n) => ExpLibm.Avx512(x, y, n);

        public static void Widen(ushort* h, float* f, int n)
        {
            int i = 0;
            for (; i + 16 <= n; i += 16) Fp16Vector.HalfHiToSingle(Avx512F.ConvertToVector512Int32(Vector256.Load(h + i)) << 16).Store(f + i);
            for (; i < n; i++) f[i] = Fp16.ToFloat(h[i]);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Scale(float* acc, int n, float ms, bool f16)
        {
            var vm = Vector512.Create(ms);
            int i = 0;
            if (f16)
            {
                for (; i + 16 <= n; i += 16) Fp16Vector.RoundToHalf(Vector512.Load(acc + i) * vm).Store(acc + i);
                for (; i < n; i++) acc[i] = Fp16.Round(acc[i] * ms);
            }
            else
            {
                for (; i + 16 <= n; i += 16) (Vector512.Load(acc + i) * vm).Store(acc + i);
                for (; i < n; i++) acc[i] *= ms;
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Mad(float* acc, float* v, int n, float vs, bool f16)
        {
            var vv = Vector512.Create(vs);
            int i = 0;
            if (f16)
            {
                for (; i + 16 <= n; i += 16) Fp16Vector.RoundToHalf(Avx512F.FusedMultiplyAdd(Vector512.Load(v + i), vv, Vector512.Load(acc + i))).Store(acc + i);
                for (; i < n; i++) acc[i] = Fp16.Round(MathF.FusedMultiplyAdd(v[i], vs, acc[i]));
            }
            else
            {
                for (; i + 16 <= n; i += 16) Avx512F.FusedMultiplyAdd(Vector512.Load(v + i), vv, Vector512.Load(acc + i)).Store(acc + i);
                for (; i < n; i++) acc[i] = MathF.FusedMultiplyAdd(v[i], vs, acc[i]);
            }
        }
    }
}
