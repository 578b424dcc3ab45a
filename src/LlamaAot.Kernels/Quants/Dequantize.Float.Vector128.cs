// Vector128 F16/BF16 rows → fp32: 8 halves widened to two 4-lane vectors and shifted into the top of each lane, then
// Fp16Vector's exact widening (bf16 needs nothing more); the last n mod 8 elements go through the scalar converters.
using System.Runtime.Intrinsics;

namespace LlamaAot.Kernels.Quants;

public static unsafe partial class Dequantize
{
    public static void F16V128(byte* x, float* y, int n)
    {
        if (!Vector128.IsHardwareAccelerated) { F16(x, y, n); return; }
        var h = (ushort*)x;
        int i = 0;
        for (; i + 8 <= n; i += 8)
        {
            var v = Vector128.Load(h + i);
            Fp16Vector.HalfHiToSingle(Vector128.WidenLower(v).AsInt32() << 16).Store(y + i);
            Fp16Vector.HalfHiToSingle(Vector128.WidenUpper(v).AsInt32() << 16).Store(y + i + 4);
        }
        for (; i < n; i++) y[i] = Fp16.ToFloat(h[i]);
    }

    public static void BF16V128(byte* x, float* y, int n)
    {
        if (!Vector128.IsHardwareAccelerated) { BF16(x, y, n); return; }
        var h = (ushort*)x;
        int i = 0;
        for (; i + 8 <= n; i += 8)
        {
            var v = Vector128.Load(h + i);
            (Vector128.WidenLower(v).AsInt32() << 16).AsSingle().Store(y + i);
            (Vector128.WidenUpper(v).AsInt32() << 16).AsSingle().Store(y + i + 4);
        }
        for (; i < n; i++) y[i] = Fp16.BF16ToFloat(h[i]);
    }
}
