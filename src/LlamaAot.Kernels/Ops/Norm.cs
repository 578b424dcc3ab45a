// RMSNorm: y = x / sqrt(mean(x²) + eps) · w, squares in fp32 summed in fp64 as ggml_compute_forward_rms_norm does.
namespace LlamaAot.Kernels.Ops;

public static unsafe partial class RmsNorm
{
    public static void Reference(float* x, float* w, float* y, int n, float eps)
    {
        double sum = 0;
        for (int i = 0; i < n; i++) sum += (double)(x[i] * x[i]);   // fp32 square, fp64 sum
        float scale = 1f / MathF.Sqrt((float)(sum / n) + eps);
        for (int i = 0; i < n; i++) y[i] = x[i] * scale * w[i];
    }
}
