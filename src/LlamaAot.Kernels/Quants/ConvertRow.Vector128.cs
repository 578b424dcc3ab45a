// Vector128 fp32 → F16/BF16 rows: 8 elements per step as two 4-lane Fp16Vector conversions (bit-exact with the scalar
// converters) narrowed to 16 bits; the last n mod 8 elements go through the scalar converters.
using System.Runtime.Intrinsics;

namespace LlamaAot.Kernels.Quants;

public static unsafe partial class ConvertRow
{
    public static void ToF16V128(float* x, byte* y, int n)
    {
        if (!Vector128.IsHardwareAccelerated) { ToF16(x, y, n); return; }
        var h = (ushort*)y;
        int i = 0;
        for (; i + 8 <= n; i += 8)
        {
            var lo = Fp16Vector.SingleToHalf(Vector128.Load(x + i)).AsUInt32();
            var hi = Fp16Vector.SingleToHalf(Vector128.Load(x + i + 4)).AsUInt32();
            Vector128.Narrow(lo, hi).Store(h + i);
        }
        for (; i < n; i++) h[i] = Fp16.FromFloat(x[i]);
    }

    public static void ToBF16V128(float* x, byte* y, int n)
    {
        if (!Vector128.IsHardwareAccelerated) { ToBF16(x, y, n); return; }
        var h = (ushort*)y;
        int i = 0;
        for (; i + 8 <= n; i += 8)
        {
            var lo = Fp16Vector.SingleToBF16(Vector128.Load(x + i)).AsUInt32();
            var hi = Fp16Vector.SingleToBF16(Vector128.Load(x + i + 4)).AsUInt32();
            Vector128.Narrow(lo, hi).Store(h + i);
        }
        for (; i < n; i++) h[i] = Fp16.FloatToBF16(x[i]);
    }
}
