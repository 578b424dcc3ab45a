// The generation CLI's contract: stdout carries only the answer, bad input is one `error:` line and exit 2,
// seeded sampling is reproducible.
using System.Text;

namespace LlamaAot.Tests.Generation;

public class GenerateCliTests
{
    private static readonly string Stories = TestPaths.Model("stories260K-Q8_0.gguf");

    private static void AssertUserError(CliResult r, string mustContain) => CliRunner.AssertUserError(r, mustContain);

    [Fact]
    public void Prompt_from_stdin_streams_a_continuation()
    {
        var r = CliRunner.Run(["-m", Stories, "-n", "16", "--temp", "0"], Encoding.UTF8.GetBytes("Once upon a time\n"));
        Assert.Equal(0, r.ExitCode);
        Assert.StartsWith(", there was a little girl", r.Stdout);
        Assert.Contains("tokens per second", r.Stderr);
        Assert.Contains("kernels ", r.Stderr);
    }

    [Fact]
    public void Stdin_prompt_equals_the_same_prompt_given_with_p()
    {
        var viaStdin = CliRunner.Run(["-m", Stories, "-n", "20", "--temp", "0", "--ids"], Encoding.UTF8.GetBytes("The little dog"));
        var viaFlag = CliRunner.Run("-m", Stories, "-n", "20", "--temp", "0", "--ids", "-p", "The little dog");
        Assert.Equal(viaFlag.Stdout, viaStdin.Stdout);
    }

    [Fact]
    public void Prompt_longer_than_the_context_is_an_error_naming_both_lengths()
    {
        string longPrompt = string.Join(' ', Enumerable.Repeat("Once upon a time there was a dog.", 20));
        var r = CliRunner.Run("-m", Stories, "-c", "32", "-p", longPrompt);
        AssertUserError(r, "context holds 32");
        Assert.Matches(@"prompt is \d+ tokens", r.Stderr);
    }

    [Fact]
    public void Empty_prompt_generates_from_bos()
    {
        var r = CliRunner.Run(["-m", Stories, "-n", "12", "--temp", "0", "--ids"], []);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(12, r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public void Invalid_utf8_on_stdin_is_replaced_with_a_warning()
    {
        byte[] bad = [.. "Once upon a "u8, 0xFF, 0xC3, .. " time"u8];
        var r = CliRunner.Run(["-m", Stories, "-n", "4", "--temp", "0"], bad);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("warning: the prompt is not valid UTF-8", r.Stderr);
        Assert.DoesNotContain("error", r.Stderr);
    }

    [Fact]
    public void N_predict_beyond_the_context_stops_at_the_context_end_with_a_note()
    {
        var r = CliRunner.Run("-m", Stories, "-c", "24", "-n", "100", "--temp", "0", "--ignore-eos", "--ids", "-p", "Once upon a time");
        Assert.Equal(0, r.ExitCode);
        int prompt = 5;   // BOS + 4 tokens (golden prompt_ids)
        Assert.Equal(24 - prompt + 1, r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Contains("note: -n 100 exceeds", r.Stderr);
        Assert.Contains("stopped at the end of the context", r.Stderr);
    }

    [Theory]
    [InlineData("--bogus")]
    [InlineData("-n", "many")]
    [InlineData("--temp", "hot")]
    [InlineData("--top-p", "1.5")]
    [InlineData("--cache-type", "q4")]
    [InlineData("-c")]
    public void Bad_flags_are_one_error_line_and_exit_2(params string[] flags)
    {
        AssertUserError(CliRunner.Run(["-m", Stories, "-p", "hi", .. flags]), "");
    }

    [Fact]
    public void Missing_model_file_is_a_user_error()
    {
        AssertUserError(CliRunner.Run("-m", "/nonexistent/model.gguf", "-p", "hi"), "no such file");
    }

    [Fact]
    public void Missing_prompt_file_is_a_user_error()
    {
        AssertUserError(CliRunner.Run("-m", Stories, "-f", "/nonexistent/prompt.txt"), "cannot read prompt file");
    }

    [Fact]
    public void Seeded_sampling_is_reproducible_and_seed_dependent()
    {
        string[] Args(string seed) => ["-m", Stories, "-p", "Once upon a time", "-n", "48", "--temp", "1.0", "--top-k", "0", "--top-p", "1", "--min-p", "0", "-s", seed, "--ids"];
        var a1 = CliRunner.Run(Args("42"));
        var a2 = CliRunner.Run(Args("42"));
        var b = CliRunner.Run(Args("7"));
        Assert.Equal(0, a1.ExitCode);
        Assert.Equal(a1.Stdout, a2.Stdout);
        Assert.NotEqual(a1.Stdout, b.Stdout);
    }

    [Fact]
    public void Dump_logits_writes_vocab_floats()
    {
        string path = Path.GetTempFileName();
        try
        {
            var r = CliRunner.Run("-m", Stories, "-p", "Lily", "-n", "1", "--dump-logits", path);
            Assert.Equal(0, r.ExitCode);
            Assert.Equal(512 * 4, new FileInfo(path).Length);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Tokenize_prints_prompt_ids()
    {
        var r = CliRunner.Run(["tokenize", "-m", Stories], Encoding.UTF8.GetBytes("Once upon a time"));
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("1 403 407 261 378", string.Join(' ', r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        var noBos = CliRunner.Run(["tokenize", "-m", Stories, "--no-bos"], Encoding.UTF8.GetBytes("Once upon a time"));
        Assert.Equal("403 407 261 378", string.Join(' ', noBos.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }

    [Fact]
    public void F32_cache_gives_the_same_greedy_text_as_f16_on_stories()
    {
        var f16 = CliRunner.Run("-m", Stories, "-p", "Once upon a time", "-n", "24", "--temp", "0");
        var f32 = CliRunner.Run("-m", Stories, "-p", "Once upon a time", "-n", "24", "--temp", "0", "--cache-type", "f32");
        Assert.Equal(0, f32.ExitCode);
        Assert.Equal(f16.Stdout, f32.Stdout);
        Assert.Contains("kv cache F32", f32.Stderr);
    }

    [Fact]
    public void Prefetch_and_mlock_do_not_change_the_answer()
    {
        var plain = CliRunner.Run("-m", Stories, "-p", "Once upon a time", "-n", "8", "--temp", "0");
        var advised = CliRunner.Run("-m", Stories, "-p", "Once upon a time", "-n", "8", "--temp", "0", "--prefetch", "--mlock");
        Assert.Equal(0, advised.ExitCode);
        Assert.Equal(plain.Stdout, advised.Stdout);
    }
}
