using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Reflection;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Net = TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>;

namespace Dsl.Peers.TorchSharp;

/// <summary>
/// The TorchSharp peer for the Fashion-MNIST sample's epoch times: trains the same MLP and CNN as
/// samples/FashionMnist for one epoch each (batch 64, AdamW lr 1e-3, weight decay 1e-4, cross-entropy, the
/// sample's input standardisation, the last partial batch trained on) with 1 and 2 intra-op threads, and
/// prints the timed epoch, the epoch's mean training loss and the test accuracy after the epoch, with the
/// machine and its load. Exit codes: 0 success, 1 failure, 2 bad command line or data set not installed.
/// </summary>
internal static class Program
{
    private const string Usage = """
        usage: dotnet run -c Release --project tests/Dsl.Peers.TorchSharp -- epochs [options]

        Trains each model for one epoch of Fashion-MNIST with TorchSharp and times the training loop.

          --model mlp|cnn|both  which network (default both)
          --threads N           intra-op threads (default: 1, then 2, in this process)
          --warmup N            batches trained on a throw-away copy before each timed epoch (default 20)
          --seed N              initialisation and shuffle seed (default 0)
          --wait-idle N         before each timed epoch, wait up to N seconds until the rest of the machine has
                                used under 0.05 cores for 5 s in a row (default 0: do not wait)
          --data DIR            directory with the four IDX .gz files (default /usr/share/datasets/fashion-mnist)
          --help                this text

        `probe-threads` instead of `epochs` times a 1024×1024 matmul at 1, 2, then 1 thread(s), which shows
        whether torch.set_num_threads still takes effect after libtorch's thread pool has been used.
        """;

    private const int BatchSize = 64;
    private const double LearningRate = 1e-3;
    private const double WeightDecay = 1e-4;

    // samples/FashionMnist/FashionData.cs: x = (p/255 − mean) / std.
    private const float PixelMean = 0.2860f;
    private const float PixelStd = 0.3530f;
    private const int Side = 28;
    private const int ClassCount = 10;

    private sealed record Options(string Command, string[] Models, int[] Threads, int Warmup, int Seed, string DataDirectory, int WaitIdle);

    /// <param name="CpuSeconds">CPU time this process used during the timed epoch.</param>
    /// <param name="OtherCpuSeconds">CPU time the rest of the machine used meanwhile (from /proc/stat); NaN if unknown.</param>
    /// <param name="EvaluationSeconds">Time to score the test set after the epoch (the Dsl sample counts it in its epoch time).</param>
    private sealed record Result(string Model, int Threads, double Seconds, double CpuSeconds, double OtherCpuSeconds, int Batches,
        double MeanLoss, double LastBatchLoss, double TestAccuracy, double EvaluationSeconds);

    private static int Main(string[] args)
    {
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        Options options;
        try
        {
            Options? parsed = Parse(args);
            if (parsed is null)
            {
                Console.WriteLine(Usage);
                return 0;
            }
            options = parsed;
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            Console.Error.WriteLine(Usage);
            return 2;
        }

        // Inter-op parallelism can be set only before libtorch first uses its pools, so once, here. The
        // intra-op count (torch.set_num_threads) can change later: `probe-threads` shows it does.
        torch.set_num_interop_threads(1);

        try
        {
            return options.Command == "probe-threads" ? ProbeThreads() : Epochs(options);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    private static Options? Parse(string[] args)
    {
        if (args.Length == 0) throw new ArgumentException("missing command: epochs or probe-threads");
        if (args[0] is "--help" or "-h") return null;
        if (args[0] is not ("epochs" or "probe-threads")) throw new ArgumentException($"unknown command '{args[0]}'");
        var options = new Options(args[0], ["mlp", "cnn"], [1, 2], 20, 0, "/usr/share/datasets/fashion-mnist", 0);
        for (int i = 1; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            int Int(int min)
            {
                string name = args[i], text = Value();
                if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) || n < min)
                    throw new ArgumentException($"{name} takes an integer of at least {min}, not '{text}'");
                return n;
            }
            switch (args[i])
            {
                case "--model":
                    string model = Value();
                    options = options with
                    {
                        Models = model switch
                        {
                            "mlp" => ["mlp"],
                            "cnn" => ["cnn"],
                            "both" => ["mlp", "cnn"],
                            _ => throw new ArgumentException($"--model takes mlp, cnn or both, not '{model}'"),
                        },
                    };
                    break;
                case "--threads": options = options with { Threads = [Int(1)] }; break;
                case "--warmup": options = options with { Warmup = Int(0) }; break;
                case "--seed": options = options with { Seed = Int(0) }; break;
                case "--data": options = options with { DataDirectory = Value() }; break;
                case "--wait-idle": options = options with { WaitIdle = Int(0) }; break;
                case "--help" or "-h": return null;
                default: throw new ArgumentException($"unknown option '{args[i]}'");
            }
        }
        return options;
    }

    private static int Epochs(Options options)
    {
        string[] files = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"];
        string[] missing = files.Where(f => !File.Exists(Path.Combine(options.DataDirectory, f))).ToArray();
        if (missing.Length > 0)
        {
            Console.Error.WriteLine($"Fashion-MNIST not found: {options.DataDirectory} lacks {string.Join(", ", missing)}.");
            Console.Error.WriteLine("Install Debian's package with");
            Console.Error.WriteLine("  sudo apt-get update && sudo apt-get install -y dataset-fashion-mnist");
            Console.Error.WriteLine("or run `bash tests/Dsl.Peers.TorchSharp/run.sh epochs`, which installs it, or pass --data DIR.");
            return 2;
        }

        string loadStart = LoadAverage();
        string started = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
        PrintMachine();
        Console.WriteLine($"load average at start: {loadStart}");

        var clock = Stopwatch.StartNew();
        (Tensor trainX, Tensor trainY) = Load(options.DataDirectory, files[0], files[1]);
        (Tensor testX, Tensor testY) = Load(options.DataDirectory, files[2], files[3]);
        Console.WriteLine($"data: {trainX.shape[0]} training and {testX.shape[0]} test images in memory as tensors ({clock.Elapsed.TotalSeconds:F1} s)");

        var results = new List<Result>();
        foreach (string model in options.Models)
        {
            foreach (int threads in options.Threads)
            {
                torch.set_num_threads(threads);
                if (torch.get_num_threads() != threads)
                    throw new InvalidOperationException($"torch.set_num_threads({threads}) left {torch.get_num_threads()} threads");
                Result r = TrainOneEpoch(model, threads, options, trainX, trainY, testX, testY);
                results.Add(r);
                Console.WriteLine($"{r.Model}, {r.Threads} thread(s): epoch {r.Seconds:F2} s ({r.Batches} batches, {1e3 * r.Seconds / r.Batches:F2} ms/batch, CPU/wall {r.CpuSeconds / r.Seconds:F2}, other processes {r.OtherCpuSeconds / r.Seconds:F2} cores), " +
                                  $"mean training loss {r.MeanLoss:F4}, last batch loss {r.LastBatchLoss:F4}, test accuracy {r.TestAccuracy:F4}, test-set evaluation {r.EvaluationSeconds:F2} s");
            }
        }

        string loadEnd = LoadAverage();
        Console.WriteLine($"load average at end: {loadEnd}");
        Console.WriteLine();
        Console.WriteLine($"TorchSharp {TorchSharpVersion()}, one epoch, batch {BatchSize}, AdamW lr {LearningRate:G3} weight decay {WeightDecay:G3}, inter-op threads {torch.get_num_interop_threads()}, warm-up {options.Warmup} batches (untimed), seed {options.Seed}, started {started} UTC");
        Console.WriteLine($"machine: {Machine()}; load average start {loadStart}, end {loadEnd}");
        Console.WriteLine();
        Console.WriteLine("| model | threads | epoch (s) | epoch + test evaluation (s) | ms/batch | CPU/wall | others' CPU (cores) | mean training loss | test accuracy |");
        Console.WriteLine("|---|--:|--:|--:|--:|--:|--:|--:|--:|");
        foreach (Result r in results)
            Console.WriteLine($"| {r.Model} | {r.Threads} | {r.Seconds:F2} | {r.Seconds + r.EvaluationSeconds:F2} | {1e3 * r.Seconds / r.Batches:F2} | {r.CpuSeconds / r.Seconds:F2} | {r.OtherCpuSeconds / r.Seconds:F2} | {r.MeanLoss:F4} | {r.TestAccuracy:F4} |");
        Console.WriteLine();
        Console.WriteLine("CPU/wall: this process's CPU time over the epoch's wall time. Others' CPU: the CPU time all other processes took");
        Console.WriteLine("meanwhile, in cores; on a 2-core machine anything well above 0 slows the 2-thread runs, whose threads meet at a barrier in every operator.");
        return 0;
    }

    /// <summary>
    /// Warms up on a throw-away copy of the network, then trains a fresh one for one timed epoch and scores it
    /// on the test set (untimed).
    /// </summary>
    private static Result TrainOneEpoch(string kind, int threads, Options options, Tensor trainX, Tensor trainY, Tensor testX, Tensor testY)
    {
        long count = trainX.shape[0];
        if (options.WaitIdle > 0) WaitIdle(options.WaitIdle);

        // Warm-up: the same shapes through a separate network and optimiser, so libtorch's allocator, kernels and
        // thread pool and .NET's JIT are ready, without changing the network that is timed.
        if (options.Warmup > 0)
        {
            using Net scratch = Create(kind, options.Seed + 1);
            using var scratchOptimizer = torch.optim.AdamW(scratch.parameters(), LearningRate, weight_decay: WeightDecay);
            using var generator = new Generator((ulong)options.Seed + 1000);
            using Tensor order = torch.randperm(count, generator: generator);
            scratch.train();
            for (int b = 0; b < options.Warmup; b++)
            {
                long start = b * (long)BatchSize % count;
                Step(scratch, scratchOptimizer, trainX, trainY, order, start, Math.Min(BatchSize, count - start), kind);
            }
        }

        using Net net = Create(kind, options.Seed);
        using var optimizer = torch.optim.AdamW(net.parameters(), LearningRate, weight_decay: WeightDecay);
        using var shuffle = new Generator((ulong)options.Seed);
        net.train();

        // One epoch: the shuffle, then every batch, the last partial one included.
        int batches = 0;
        double lossSum = 0, lastLoss = 0;
        TimeSpan cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
        double machineStart = MachineBusySeconds();
        var clock = Stopwatch.StartNew();
        using (Tensor order = torch.randperm(count, generator: shuffle))
        {
            for (long start = 0; start < count; start += BatchSize)
            {
                long size = Math.Min(BatchSize, count - start);
                lastLoss = Step(net, optimizer, trainX, trainY, order, start, size, kind);
                lossSum += lastLoss * size;
                batches++;
            }
        }
        clock.Stop();
        double machineBusy = MachineBusySeconds() - machineStart;
        TimeSpan cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuStart;

        // Timed apart: the Dsl sample's epoch time includes evaluating the test set, so compare with the sum.
        var evaluation = Stopwatch.StartNew();
        double accuracy = Accuracy(net, testX, testY, kind);
        evaluation.Stop();
        double others = Math.Max(0, machineBusy - cpu.TotalSeconds);
        return new Result(kind, threads, clock.Elapsed.TotalSeconds, cpu.TotalSeconds, others, batches, lossSum / count, lastLoss, accuracy, evaluation.Elapsed.TotalSeconds);
    }

    /// <summary>One optimiser step on the samples <c>order[start .. start+size)</c>; returns the batch's mean loss.</summary>
    private static double Step(Net net, optim.Optimizer optimizer, Tensor x, Tensor y, Tensor order, long start, long size, string kind)
    {
        using DisposeScope scope = torch.NewDisposeScope();
        Tensor index = order.narrow(0, start, size);
        Tensor inputs = Shape(x.index_select(0, index), kind);
        Tensor labels = y.index_select(0, index);
        optimizer.zero_grad();
        Tensor loss = nn.functional.cross_entropy(net.call(inputs), labels);
        loss.backward();
        optimizer.step();
        return loss.item<float>();
    }

    /// <summary>Test accuracy in evaluation mode (batch norm uses its running statistics), without gradients.</summary>
    private static double Accuracy(Net net, Tensor x, Tensor y, string kind)
    {
        net.eval();
        long count = x.shape[0], correct = 0;
        using (torch.no_grad())
        {
            for (long start = 0; start < count; start += 1000)
            {
                using DisposeScope scope = torch.NewDisposeScope();
                long size = Math.Min(1000, count - start);
                Tensor predicted = net.call(Shape(x.narrow(0, start, size), kind)).argmax(1);
                correct += predicted.eq(y.narrow(0, start, size)).sum().item<long>();
            }
        }
        net.train();
        return (double)correct / count;
    }

    /// <summary>Rows of 784 pixels as the network takes them: as they are for the MLP, 1×28×28 images for the CNN.</summary>
    private static Tensor Shape(Tensor rows, string kind) => kind == "cnn" ? rows.view(-1, 1, Side, Side) : rows;

    /// <summary>
    /// The sample's networks (samples/FashionMnist/FashionMlp.cs and FashionCnn.cs), initialised as Dsl does:
    /// weights Kaiming-uniform U(±sqrt(6/fanIn)), biases zero, batch-norm scale 1 and shift 0 (PyTorch's default).
    /// </summary>
    private static Net Create(string kind, int seed)
    {
        torch.manual_seed(seed);
        Net net = kind switch
        {
            "mlp" => nn.Sequential(
                ("fc1", nn.Linear(784, 256)), ("relu1", nn.ReLU()),
                ("fc2", nn.Linear(256, 128)), ("relu2", nn.ReLU()),
                ("head", nn.Linear(128, ClassCount))),
            "cnn" => nn.Sequential(
                ("conv1", nn.Conv2d(1, 32, 3, padding: 1, bias: false)), ("bn1", nn.BatchNorm2d(32)), ("relu1", nn.ReLU()), ("pool1", nn.MaxPool2d(2)),
                ("conv2", nn.Conv2d(32, 64, 3, padding: 1, bias: false)), ("bn2", nn.BatchNorm2d(64)), ("relu2", nn.ReLU()), ("pool2", nn.MaxPool2d(2)),
                ("flat", nn.Flatten()),
                ("fc1", nn.Linear(3136, 128)), ("relu3", nn.ReLU()),
                ("head", nn.Linear(128, ClassCount))),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "expected 'mlp' or 'cnn'"),
        };
        using (torch.no_grad())
        {
            foreach (nn.Module module in net.modules())
            {
                if (module is Linear linear)
                {
                    nn.init.kaiming_uniform_(linear.weight, a: 0, nonlinearity: nn.init.NonlinearityType.ReLU);
                    if (linear.bias is not null) nn.init.zeros_(linear.bias);
                }
                else if (module is Conv2d conv)
                {
                    nn.init.kaiming_uniform_(conv.weight, a: 0, nonlinearity: nn.init.NonlinearityType.ReLU);
                    if (conv.bias is not null) nn.init.zeros_(conv.bias);
                }
            }
        }
        return net;
    }

    /// <summary>Loads one split as a float tensor [N, 784] standardised as the sample does, and an int64 label tensor [N].</summary>
    private static (Tensor X, Tensor Y) Load(string directory, string imagesFile, string labelsFile)
    {
        string imagesPath = Path.Combine(directory, imagesFile), labelsPath = Path.Combine(directory, labelsFile);
        (int[] imageDims, byte[] pixels) = ReadIdx(imagesPath, 0x803);
        (int[] labelDims, byte[] labels) = ReadIdx(labelsPath, 0x801);
        if (imageDims[1] != Side || imageDims[2] != Side)
            throw new InvalidDataException($"{imagesPath} holds {imageDims[1]} × {imageDims[2]} images; Fashion-MNIST images are {Side} × {Side}.");
        if (labelDims[0] != imageDims[0])
            throw new InvalidDataException($"{imagesPath} holds {imageDims[0]} images but {labelsPath} holds {labelDims[0]} labels.");

        var features = new float[pixels.Length];
        const float scale = 1f / (255f * PixelStd);
        const float shift = PixelMean / PixelStd;
        for (int i = 0; i < features.Length; i++) features[i] = pixels[i] * scale - shift; // (p/255 − mean) / std
        var classes = new long[labels.Length];
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] >= ClassCount) throw new InvalidDataException($"{labelsPath}: label {labels[i]} of sample {i} is outside 0..{ClassCount - 1}.");
            classes[i] = labels[i];
        }
        return (torch.tensor(features, [imageDims[0], Side * Side]), torch.tensor(classes, [labels.Length]));
    }

    /// <summary>Reads a gzipped IDX file of unsigned bytes: big-endian magic 0x0000 08 dims, one size per dimension, the data.</summary>
    private static (int[] Dims, byte[] Data) ReadIdx(string path, int magic)
    {
        using var file = File.OpenRead(path);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var stream = new BufferedStream(gzip, 1 << 16);
        Span<byte> word = stackalloc byte[4];
        stream.ReadExactly(word);
        int found = BinaryPrimitives.ReadInt32BigEndian(word);
        if (found != magic) throw new InvalidDataException($"{path}: magic number 0x{found:X8}, expected 0x{magic:X8}.");
        var dims = new int[magic & 0xFF];
        long length = 1;
        for (int d = 0; d < dims.Length; d++)
        {
            stream.ReadExactly(word);
            dims[d] = BinaryPrimitives.ReadInt32BigEndian(word);
            if (dims[d] <= 0) throw new InvalidDataException($"{path}: size {dims[d]} in dimension {d}.");
            length *= dims[d];
        }
        var data = new byte[length];
        stream.ReadExactly(data);
        if (stream.ReadByte() >= 0) throw new InvalidDataException($"{path} has bytes after the data its header declares.");
        return (dims, data);
    }

    /// <summary>Times a 1024×1024 float matmul at 1, 2 and again 1 intra-op thread(s).</summary>
    private static int ProbeThreads()
    {
        Console.WriteLine($"machine: {Machine()}; load average {LoadAverage()}");
        torch.manual_seed(0);
        using Tensor a = torch.randn(1024, 1024), b = torch.randn(1024, 1024);
        foreach (int threads in new[] { 1, 2, 1, 2 })
        {
            torch.set_num_threads(threads);
            for (int i = 0; i < 3; i++) a.matmul(b).Dispose();
            TimeSpan cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
            var clock = Stopwatch.StartNew();
            const int repeats = 20;
            for (int i = 0; i < repeats; i++) a.matmul(b).Dispose();
            clock.Stop();
            double cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuStart).TotalSeconds;
            Console.WriteLine($"set_num_threads({threads}): get_num_threads {torch.get_num_threads()}, matmul {1e3 * clock.Elapsed.TotalSeconds / repeats:F2} ms, " +
                              $"{2.0 * 1024 * 1024 * 1024 * repeats / clock.Elapsed.TotalSeconds / 1e9:F1} GFLOP/s, CPU/wall {cpu / clock.Elapsed.TotalSeconds:F2}");
        }
        return 0;
    }

    private static void PrintMachine()
    {
        Console.WriteLine($"machine: {Machine()}");
        Console.WriteLine($"TorchSharp {TorchSharpVersion()}, .NET {Environment.Version}, inter-op threads {torch.get_num_interop_threads()}");
    }

    /// <summary>The CPU from /proc/cpuinfo: model name, family, model, AVX-512F or not, and the logical CPU count.</summary>
    private static string Machine()
    {
        string name = "?", family = "?", model = "?";
        bool avx512 = false;
        try
        {
            foreach (string line in File.ReadLines("/proc/cpuinfo"))
            {
                int colon = line.IndexOf(':');
                if (colon < 0) continue;
                string key = line[..colon].Trim(), value = line[(colon + 1)..].Trim();
                if (key == "model name" && name == "?") name = value;
                else if (key == "cpu family" && family == "?") family = value;
                else if (key == "model" && model == "?") model = value;
                else if (key == "flags" && value.Split(' ').Contains("avx512f")) avx512 = true;
                if (line.Length == 0 && name != "?") break;
            }
        }
        catch (IOException)
        {
        }
        return $"{name}, cpu family {family} model {model}, {(avx512 ? "avx512f" : "no avx512f")}, {Environment.ProcessorCount} logical CPUs";
    }

    /// <summary>Waits up to <paramref name="seconds"/> until other processes have used under 0.05 cores for 5 one-second samples in a row.</summary>
    private static void WaitIdle(int seconds)
    {
        var clock = Stopwatch.StartNew();
        int quiet = 0;
        double others = double.NaN;
        while (quiet < 5 && clock.Elapsed.TotalSeconds < seconds)
        {
            double busy = MachineBusySeconds();
            TimeSpan own = Process.GetCurrentProcess().TotalProcessorTime;
            var tick = Stopwatch.StartNew();
            System.Threading.Thread.Sleep(1000);
            others = (MachineBusySeconds() - busy - (Process.GetCurrentProcess().TotalProcessorTime - own).TotalSeconds) / tick.Elapsed.TotalSeconds;
            if (double.IsNaN(others)) return;
            quiet = others < 0.05 ? quiet + 1 : 0;
        }
        Console.WriteLine(quiet >= 5
            ? $"(waited {clock.Elapsed.TotalSeconds:F0} s for an idle machine)"
            : $"(machine still busy after {clock.Elapsed.TotalSeconds:F0} s: other processes used {others:F2} cores in the last second; timing anyway)");
    }

    /// <summary>
    /// CPU seconds all processes have used since boot: the non-idle fields of /proc/stat's "cpu" line (user, nice,
    /// system, irq, softirq, steal; guest time is already in user), in USER_HZ = 100 ticks per second. NaN if unreadable.
    /// </summary>
    private static double MachineBusySeconds()
    {
        try
        {
            string line = File.ReadLines("/proc/stat").First();
            long[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(long.Parse).ToArray();
            long busy = f[0] + f[1] + f[2] + f[5] + f[6] + (f.Length > 7 ? f[7] : 0);
            return busy / 100.0;
        }
        catch (Exception e) when (e is IOException or FormatException or IndexOutOfRangeException or InvalidOperationException)
        {
            return double.NaN;
        }
    }

    /// <summary>The first three fields of /proc/loadavg (1, 5 and 15 minutes).</summary>
    private static string LoadAverage()
    {
        try
        {
            return string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ', StringSplitOptions.RemoveEmptyEntries).Take(3));
        }
        catch (IOException)
        {
            return "?";
        }
    }

    private static string TorchSharpVersion() =>
        typeof(torch).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(torch).Assembly.GetName().Version?.ToString() ?? "?";
}
