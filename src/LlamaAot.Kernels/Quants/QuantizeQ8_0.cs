// Activation quantizer fp32 → Q8_0 blocks: d = max|x| / 127, q = round(x / d).
// Rounding follows ggml's x86 path (127/max as the inverse, round-half-to-even), since that is what the
// reference outputs in ../shared/golden were produced with.
namespace LlamaAot.Kernels.Quants;

public static unsafe partial class QuantizeQ8_0
{
    /// <summary>Spec: for each block of 32, amax = max|x|, d = amax/127, q[j] = rne(x[j] * (127/amax)) (0 when amax = 0).</summary>
    public static void Reference(float* x, byte* y, int n)
    {
        var blocks = (BlockQ8_0*)y;
        for (int b = 0; b < n / BlockQ8_0.QK; b++)
        {
            float* xb = x + b * BlockQ8_0.QK;
            float amax = 0;
            for (int j = 0; j < BlockQ8_0.QK; j++) amax = MathF.Max(amax, MathF.Abs(xb[j]));
            float d = amax / 127f;
            float id = amax != 0 ? 127f / amax : 0f;
            blocks[b].D = Fp16.FromFloat(d);
            for (int j = 0; j < BlockQ8_0.QK; j++) blocks[b].Qs[j] = (sbyte)MathF.Round(xb[j] * id, MidpointRounding.ToEven);
        }
    }
}
