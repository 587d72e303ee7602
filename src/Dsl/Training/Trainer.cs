using System;
using System.Collections.Generic;
using System.Diagnostics;

namespace Dsl;

/// <summary>
/// Minibatch training of one network with one optimiser and loss. Each step runs
/// <see cref="INetwork.ForwardTrain"/>, the loss, <see cref="INetwork.Backward"/> (without input gradient) and
/// <see cref="Optimizer.Step"/> on gradients that start at zero; a batch on one thread runs
/// <see cref="NetworkExtensions.BackwardAndStep"/> instead, which fuses plain SGD into the backward pass. It does not initialise the parameters: call
/// <see cref="Parameters.Initialize"/> (or load weights) first. Splits each batch across <see cref="Threads"/> threads. Not thread-safe: call it from one thread at a time.
/// </summary>
public sealed class Trainer
{
    /// <summary>Binds a network, optimiser and loss.</summary>
    public Trainer(INetwork network, Optimizer optimizer, Loss loss)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(loss);
        Network = network;
        Optimizer = optimizer;
        Loss = loss;
    }

    /// <summary>The network being trained.</summary>
    public INetwork Network { get; }

    /// <summary>The optimiser updating <see cref="INetwork.Parameters"/>.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>The loss minimised.</summary>
    public Loss Loss { get; }

    /// <summary>
    /// Checks every step's output and input gradient during <see cref="Fit"/> and stops at the first NaN or
    /// infinity with a <see cref="NonFiniteException"/> naming the step (<see cref="Workspace.CheckFinite"/>).
    /// Off by default.
    /// </summary>
    public bool CheckFinite { get; set; }

    /// <summary>
    /// Threads each batch is split across in <see cref="Fit"/> and <see cref="Evaluate"/>; defaults to the
    /// machine's processors. Each thread runs its share of the rows with a workspace and gradient buffer of its
    /// own; the buffers are added up in thread order, so a run is reproducible for a given thread count, and
    /// differs from another thread count by float rounding only: batch normalisation uses the whole batch's
    /// statistics, the loss is scaled by the whole batch, and dropout masks are keyed on the sample's index in the
    /// batch. A batch with fewer rows than threads runs on that many threads.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to less than 1.</exception>
    public int Threads
    {
        get => _threads;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            _threads = value;
        }
    }

    private int _threads = Environment.ProcessorCount;

    /// <summary>
    /// Clips the gradient before each optimiser step of <see cref="Fit"/>: when the L2 norm over every parameter's
    /// gradient exceeds this, all of them are scaled by <c>max / norm</c>, as PyTorch's
    /// <c>clip_grad_norm_(parameters, max)</c> before <c>optimizer.step()</c>. Null (the default) leaves it alone; with
    /// it, a batch on one thread runs Backward and the optimiser's step rather than the fused BackwardAndStep.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a value that is not positive and finite.</exception>
    public float? MaxGradientNorm
    {
        get => _maxGradientNorm;
        set
        {
            if (value is float v && !(v > 0 && float.IsFinite(v)))
                throw new ArgumentOutOfRangeException(nameof(value), v, "The largest gradient norm must be positive and finite.");
            _maxGradientNorm = value;
        }
    }

    private float? _maxGradientNorm;

    /// <summary>The L2 norm of the last <see cref="Fit"/> step's gradient before clipping, when <see cref="MaxGradientNorm"/> is set; otherwise 0.</summary>
    public float GradientNorm { get; private set; }

    /// <summary>
    /// Random crops and flips applied to each training sample <see cref="Fit"/> gathers (never to evaluation), or
    /// null for none (the default). Its image size must be the network's input size.
    /// </summary>
    public ImageAugmentation? Augmentation { get; set; }

    /// <summary>
    /// Trains for <paramref name="epochs"/> passes over <paramref name="train"/>. Epoch <c>e</c> (0-based) visits
    /// the samples in the order of <c>new Rng(seed + e).Shuffle</c> applied to <c>0 .. Count−1</c>, so a run is
    /// reproducible from the seed, the initial parameters and <see cref="Threads"/>. Dropout masks are keyed on the
    /// seed, the batch's number within the call, counted over all epochs (see <see cref="Kernels.DropoutKernels"/>),
    /// and the sample's row in the batch, so they are reproducible too and do not depend on the thread count.
    /// The last batch of an epoch holds the remaining samples and is trained on, not dropped.
    /// </summary>
    /// <param name="train">Training samples.</param>
    /// <param name="epochs">Passes over the data, at least 1.</param>
    /// <param name="batchSize">Samples per optimiser step.</param>
    /// <param name="seed">Seeds the per-epoch shuffles and, as <see cref="Workspace.Seed"/>, the dropout masks, so different seeds give different masks. The workspaces are new for each call and their <see cref="Workspace.Step"/> counts the batches from 0.</param>
    /// <param name="validation">Evaluated after every epoch when given.</param>
    /// <param name="observers">Told of every batch and epoch, in the order given: e.g. a learning-rate schedule (<see cref="CosineDecay"/>), pruning (<see cref="MagnitudePruning"/>), then progress (<see cref="ConsoleProgress"/>).</param>
    /// <returns>One report per epoch.</returns>
    /// <exception cref="ArgumentException">A data set is empty or does not match the network's input or output size.</exception>
    public TrainingHistory Fit(Dataset train, int epochs, int batchSize, int seed = 0, Dataset? validation = null, params ITrainingObserver[] observers)
    {
        CheckData(train, nameof(train));
        if (validation is not null) CheckData(validation, nameof(validation));
        if (Augmentation is { } augmentation && augmentation.Size != Network.InputSize)
            throw new InvalidOperationException(
                $"The augmentation's images are {augmentation.Channels}x{augmentation.Height}x{augmentation.Width} = {augmentation.Size} floats, but the network takes {Network.InputSize}.");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(epochs);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        ArgumentNullException.ThrowIfNull(observers);
        foreach (ITrainingObserver o in observers) ArgumentNullException.ThrowIfNull(o, nameof(observers));

        int count = train.Count;
        int maxBatch = Math.Min(batchSize, count);
        int batchCount = (count + maxBatch - 1) / maxBatch;
        int[] order = new int[count];
        var reports = new List<EpochReport>(epochs);

        // Allocated once per Fit; the batch loop allocates nothing.
        using var step = new TrainingStep(this, train, order, maxBatch, unchecked((ulong)seed));
        RoutingTotals? routing = Network.MixtureCount > 0 ? new RoutingTotals(Network) : null;
        for (int e = 0; e < epochs; e++)
        {
            long start = Stopwatch.GetTimestamp();
            // Reset before shuffling so each epoch's order depends on seed + e only, not on earlier epochs.
            for (int i = 0; i < count; i++) order[i] = i;
            new Rng((long)seed + e).Shuffle(order);

            var totals = new Shares();
            routing?.Clear();
            for (int b = 0; b < batchCount; b++)
            {
                int first = b * maxBatch;
                int batch = Math.Min(maxBatch, count - first);
                totals.Add(step.Run(first, batch, (long)e * batchCount + b));
                routing?.Add(step.PrimaryWorkspace);
                foreach (ITrainingObserver o in observers) o.OnBatch(e + 1, b, batchCount, totals.MeanLoss);
            }

            EvaluationResult? validated = validation is null ? null : EvaluateOn(step.Crew, validation, batchSize);
            var report = new EpochReport(
                e + 1,
                totals.MeanLoss,
                train.IsClassification ? totals.Accuracy : null,
                validated?.Loss,
                validated?.Accuracy,
                Stopwatch.GetElapsedTime(start))
            {
                AuxiliaryLoss = routing?.MeanAuxiliaryLoss ?? 0f,
                Mixtures = routing?.Reports() ?? [],
            };
            reports.Add(report);
            foreach (ITrainingObserver o in observers) o.OnEpoch(report);
        }
        // Training moved the weights: a pruned network's sparse kernels need their compact forms again.
        Network.Parameters.Pruning?.Compact();
        return new TrainingHistory(reports);
    }

    /// <summary>
    /// Mean loss and accuracy (classification only) of the network on <paramref name="data"/>, by batched
    /// inference (<see cref="INetwork.Forward(ReadOnlySpan{float}, Span{float}, int)"/>), each batch split across
    /// <see cref="Threads"/> threads; gradients and parameters are untouched.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="data"/> is empty or does not match the network.</exception>
    public EvaluationResult Evaluate(Dataset data, int batchSize = 256)
    {
        CheckData(data, nameof(data));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        int threads = Math.Min(Threads, Math.Min(batchSize, data.Count));
        using WorkerCrew? crew = threads > 1 ? new WorkerCrew(threads) : null;
        return EvaluateOn(crew, data, batchSize);
    }

    private EvaluationResult EvaluateOn(WorkerCrew? crew, Dataset data, int batchSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        var job = new EvaluationStep(this, data, Math.Min(batchSize, data.Count), crew);
        var totals = new Shares();
        for (int first = 0; first < data.Count; first += job.MaxBatch)
            totals.Add(job.Run(first, Math.Min(job.MaxBatch, data.Count - first)));
        return new EvaluationResult(totals.MeanLoss, data.IsClassification ? totals.Accuracy : null);
    }

    /// <summary>The mixture layers' routing statistics summed over an epoch's batches (allocated once per Fit).</summary>
    private sealed class RoutingTotals
    {
        private readonly INetwork _network;
        private readonly LayerTotals[] _layers;
        private int _batches;

        /// <summary>One per mixture layer, in the order they run, as <see cref="INetwork.Mixture"/> numbers them.</summary>
        public RoutingTotals(INetwork network)
        {
            _network = network;
            var layers = new List<LayerTotals>();
            foreach (NetworkStep step in network.Steps)
                if (step.Kind == StepKind.MixtureOfExperts) layers.Add(new LayerTotals(step.Name, new double[step.Experts]));
            _layers = [.. layers];
        }

        public void Clear()
        {
            _batches = 0;
            foreach (LayerTotals layer in _layers) layer.Clear();
        }

        // The statistics of the batch just trained: the whole batch's, whichever thread's workspace reads them.
        public void Add(Workspace workspace)
        {
            _batches++;
            for (int i = 0; i < _layers.Length; i++) _layers[i].Add(_network.Mixture(workspace, i));
        }

        public float MeanAuxiliaryLoss
        {
            get
            {
                double sum = 0;
                foreach (LayerTotals layer in _layers) sum += layer.Auxiliary;
                return _batches == 0 ? 0f : (float)(sum / _batches);
            }
        }

        public MixtureReport[] Reports() => Array.ConvertAll(_layers, layer => layer.Report(Math.Max(1, _batches)));

        private sealed class LayerTotals(string name, double[] load)
        {
            private double _balance, _entropy;
            private long _dropped;

            public double Auxiliary { get; private set; }

            public void Clear()
            {
                load.AsSpan().Clear();
                _balance = Auxiliary = _entropy = 0;
                _dropped = 0;
            }

            public void Add(MixtureStatistics statistics)
            {
                for (int e = 0; e < load.Length; e++) load[e] += statistics.Load[e];
                _balance += statistics.Balance;
                Auxiliary += statistics.AuxiliaryLoss;
                _entropy += statistics.RouterEntropy;
                _dropped += statistics.Dropped;
            }

            public MixtureReport Report(int batches) =>
                new(name, Array.ConvertAll(load, v => (float)(v / batches)), (float)(_balance / batches), (float)(Auxiliary / batches), (float)(_entropy / batches), _dropped);
        }
    }

    /// <summary>
    /// A share of a batch (or the sum of shares): the loss summed over its terms (the loss's mean times
    /// <see cref="Loss.Count"/>), the terms, and the labels counted for accuracy and those predicted right.
    /// </summary>
    private struct Shares
    {
        public double Loss;
        public long Terms;
        public long Labelled;
        public long Correct;

        public void Add(in Shares other)
        {
            Loss += other.Loss;
            Terms += other.Terms;
            Labelled += other.Labelled;
            Correct += other.Correct;
        }

        public readonly float MeanLoss => Terms == 0 ? 0f : (float)(Loss / Terms);

        public readonly float Accuracy => Labelled == 0 ? 0f : (float)((double)Correct / Labelled);

        /// <summary>The threads' shares added in thread order.</summary>
        public static Shares Sum(Shares[] shares, int active)
        {
            var total = new Shares();
            for (int t = 0; t < active; t++) total.Add(shares[t]);
            return total;
        }

        /// <summary>A thread's share: its rows' mean loss, weighted by its terms.</summary>
        public static Shares Of(Dataset data, ReadOnlySpan<int> indices, float meanLoss, long terms, ReadOnlySpan<float> outputs) => new()
        {
            Loss = (double)meanLoss * terms,
            Terms = terms,
            Labelled = Metrics.CountLabelled(data, indices),
            Correct = data.IsClassification ? Metrics.CountCorrect(outputs, data, indices) : 0,
        };
    }

    /// <summary>
    /// One training batch and its optimiser step, split across threads: each gathers its rows, zeroes its
    /// gradients, runs ForwardTrain, the loss and Backward; then each thread adds a slice of the helper threads'
    /// gradients into the parameters' own, in thread order, and updates that slice of the parameters. A batch on
    /// one thread runs BackwardAndStep instead, which fuses plain SGD into the backward pass.
    /// </summary>
    private sealed class TrainingStep : WorkerCrew.IJob, IDisposable
    {
        private readonly Trainer _trainer;
        private readonly Dataset _data;
        private readonly int[] _order;
        private readonly Workspace[] _workspaces;
        private readonly float[][] _inputs, _outputs, _outputGradients;
        private readonly float[]?[] _gradients;
        private readonly Shares[] _shares;
        private readonly BatchGroup? _group;
        private int _first, _batch, _active;
        private long _terms;
        private long _optimizerStep;
        private bool _gradientsZero;

        public TrainingStep(Trainer trainer, Dataset data, int[] order, int maxBatch, ulong seed)
        {
            _trainer = trainer;
            _data = data;
            _order = order;
            INetwork network = trainer.Network;
            int threads = Math.Min(trainer.Threads, maxBatch);
            int rows = (maxBatch + threads - 1) / threads;
            _workspaces = new Workspace[threads];
            _inputs = new float[threads][];
            _outputs = new float[threads][];
            _outputGradients = new float[threads][];
            _gradients = new float[]?[threads];
            _shares = new Shares[threads];
            _group = threads > 1 ? new BatchGroup(threads) : null;
            for (int t = 0; t < threads; t++)
            {
                Workspace workspace = network.CreateWorkspace(rows);
                workspace.CheckFinite = trainer.CheckFinite;
                workspace.Seed = seed;
                if (t > 0) _gradients[t] = new float[network.Parameters.Size];
                if (_group is not null) workspace.JoinGroup(_group, t, _gradients[t]);
                _workspaces[t] = workspace;
                _inputs[t] = new float[rows * network.InputSize];
                _outputs[t] = new float[rows * network.OutputSize];
                _outputGradients[t] = new float[rows * network.OutputSize];
            }
            Crew = threads > 1 ? new WorkerCrew(threads) : null;
        }

        public WorkerCrew? Crew { get; }

        /// <summary>Trains on samples <c>order[first .. first + batch)</c> as batch number <paramref name="step"/>; returns the batch's loss and counts.</summary>
        public Shares Run(int first, int batch, long step)
        {
            _first = first;
            _batch = batch;
            _active = Math.Min(_workspaces.Length, batch);
            _terms = _trainer.Loss.Count(_data, _order.AsSpan(first, batch));
            foreach (Workspace workspace in _workspaces) workspace.Step = step;
            if (_active == 1)
            {
                // One thread: Run(0) takes the optimiser step itself (BackwardAndStep). The group, if any, must not
                // keep the last batch's thread count: batch norm would wait for a thread that is not coming.
                _group?.Begin(1, batch);
                Run(0);
            }
            else
            {
                _optimizerStep = _trainer.Optimizer.BeginStep(_trainer.Network.Parameters);
                _group!.Begin(_active, batch);
                Crew!.Run(this, _active, _group);
            }
            // Read by every thread at the step's start, written only here, between steps (a failed step ends Fit).
            // BackwardAndStep leaves the gradients zero, and so does a split batch (AddGradientsAndUpdate); a clipped
            // step on one thread leaves them holding the batch's gradient.
            _gradientsZero = _active > 1 || _trainer.MaxGradientNorm is null;
            return Shares.Sum(_shares, _active);
        }

        public void Run(int thread)
        {
            INetwork network = _trainer.Network;
            (int start, int rows) = WorkerCrew.Share(_batch, _active, thread);
            ReadOnlySpan<int> indices = _order.AsSpan(_first + start, rows);
            Span<float> x = _inputs[thread].AsSpan(0, rows * network.InputSize);
            Span<float> y = _outputs[thread].AsSpan(0, rows * network.OutputSize);
            Span<float> dy = _outputGradients[thread].AsSpan(0, rows * network.OutputSize);
            Workspace workspace = _workspaces[thread];
            workspace.SampleOffset = start;
            Gather(_data, indices, x);
            // Keyed as dropout is (seed, batch number, row in the batch): the same draws for any thread count.
            if (_trainer.Augmentation is { } augmentation)
                for (int r = 0; r < rows; r++)
                    augmentation.Apply(x.Slice(r * network.InputSize, network.InputSize), workspace.Seed, workspace.Step, start + r);

            if (!_gradientsZero) workspace.Gradients(network.Parameters).Clear();
            network.ForwardTrain(x, y, rows, workspace);
            float loss = _trainer.Loss.Compute(y, _data, indices, dy);
            // The loss is the mean over this thread's terms; the gradient must be that of the whole batch's mean.
            long terms = _active == 1 ? _terms : _trainer.Loss.Count(_data, indices);
            if (terms != _terms) Kernels.SequenceKernels.Scale(ref Kernels.SpanMath.Ref(dy), (nuint)dy.Length, _terms == 0 ? 0f : (float)terms / _terms);
            _shares[thread] = Shares.Of(_data, indices, loss, terms, y);
            if (_active == 1 && _trainer.MaxGradientNorm is float max)
            {
                network.Backward(dy, Span<float>.Empty, rows, workspace);
                Span<float> gradients = network.Parameters.Gradients;
                _trainer.GradientNorm = Clip(gradients, Kernels.SpanMath.SumSquaredDeviations(ref Kernels.SpanMath.Ref(gradients), (nuint)gradients.Length, 0), max);
                _trainer.Optimizer.Step(network.Parameters);
            }
            else if (_active == 1)
                network.BackwardAndStep(dy, rows, workspace, _trainer.Optimizer);
            else
            {
                network.Backward(dy, Span<float>.Empty, rows, workspace);
                AddGradientsAndUpdate(thread);
            }
        }

        // After every thread's Backward, thread t adds slice t of the helper threads' buffers into the parameters',
        // runs the optimiser on it and zeroes it in every buffer for the next batch, a chunk at a time, so the
        // chunk's gradients, values and optimiser state stay in cache from the sum to the zeroing (as three passes
        // over the whole slice, each streamed from L3, the sum and the zeroing took twice the samples in a 2-thread
        // MLP epoch). Elements update independently, so the chunking changes no result.
        private void AddGradientsAndUpdate(int thread)
        {
            _group!.Wait();
            Span<float> total = _trainer.Network.Parameters.Gradients;
            int slice = (total.Length / _active + 15) & ~15;
            int start = Math.Min(thread * slice, total.Length), length = Math.Min(slice, total.Length - start);
            // Read once: every chunk below must agree with this on whether the sum was already taken.
            float? maxNorm = _trainer.MaxGradientNorm;
            if (maxNorm is float max)
            {
                // Clipping needs the whole sum first: the norm is over every slice, each thread's sum of squares
                // added in thread order on every thread.
                Span<float> mine = total.Slice(start, length);
                AddHelperGradients(mine, start);
                _group.Partial(thread, 1)[0] = Kernels.SpanMath.SumSquaredDeviations(ref Kernels.SpanMath.Ref(mine), (nuint)mine.Length, 0);
                float norm = Clip(mine, _group.Sum(thread, 1)[0], max);
                if (thread == 0) _trainer.GradientNorm = norm;
            }
            for (int chunk = start; chunk < start + length; chunk += UpdateChunk)
            {
                int chunkLength = Math.Min(UpdateChunk, start + length - chunk);
                Span<float> mine = total.Slice(chunk, chunkLength);
                if (maxNorm is null) AddHelperGradients(mine, chunk);
                _trainer.Optimizer.UpdateSlice(_trainer.Network.Parameters, chunk, chunkLength, _optimizerStep);
                mine.Clear();
                for (int t = 1; t < _active; t++) _gradients[t].AsSpan(chunk, chunkLength).Clear();
            }
        }

        // Floats per chunk of the update: AdamW's five arrays (values, two gradients, m, v) take 40 KB of it, inside
        // this Xeon's 48 KB L1 and far inside any L2; each chunk recomputes the step's bias corrections, a few scalar
        // operations beside 2,048 elements' square roots and divides.
        private const int UpdateChunk = 2048;

        // mine += every helper thread's gradients at the same elements, in thread order.
        private void AddHelperGradients(Span<float> mine, int start)
        {
            for (int t = 1; t < _active; t++)
                Kernels.SequenceKernels.AddInPlace(mine, _gradients[t].AsSpan(start, mine.Length));
        }

        // Scales the gradients by max / norm when the norm (the root of sumOfSquares) exceeds max; returns the norm.
        private static float Clip(Span<float> gradients, double sumOfSquares, float max)
        {
            float norm = (float)Math.Sqrt(sumOfSquares);
            if (norm > max) Kernels.SequenceKernels.Scale(ref Kernels.SpanMath.Ref(gradients), (nuint)gradients.Length, max / (norm + 1e-6f));
            return norm;
        }

        public void Dispose() => Crew?.Dispose();

        /// <summary>Thread 0's workspace, which holds what the generated code keeps of the whole batch (mixture statistics).</summary>
        public Workspace PrimaryWorkspace => _workspaces[0];
    }

    /// <summary>One evaluation batch split across threads: each gathers its rows and runs batched Forward and the loss.</summary>
    private sealed class EvaluationStep : WorkerCrew.IJob
    {
        private readonly Trainer _trainer;
        private readonly Dataset _data;
        private readonly WorkerCrew? _crew;
        private readonly int[][] _indices;
        private readonly float[][] _inputs, _outputs;
        private readonly Shares[] _shares;
        private int _first, _batch, _active;

        public EvaluationStep(Trainer trainer, Dataset data, int maxBatch, WorkerCrew? crew)
        {
            _trainer = trainer;
            _data = data;
            _crew = crew;
            MaxBatch = maxBatch;
            int threads = Math.Min(crew?.Threads ?? 1, maxBatch);
            int rows = (maxBatch + threads - 1) / threads;
            _indices = new int[threads][];
            _inputs = new float[threads][];
            _outputs = new float[threads][];
            _shares = new Shares[threads];
            for (int t = 0; t < threads; t++)
            {
                _indices[t] = new int[rows];
                _inputs[t] = new float[rows * trainer.Network.InputSize];
                _outputs[t] = new float[rows * trainer.Network.OutputSize];
            }
        }

        public int MaxBatch { get; }

        public Shares Run(int first, int batch)
        {
            _first = first;
            _batch = batch;
            _active = Math.Min(_indices.Length, batch);
            if (_active == 1) Run(0);
            else _crew!.Run(this, _active);
            return Shares.Sum(_shares, _active);
        }

        public void Run(int thread)
        {
            INetwork network = _trainer.Network;
            (int start, int rows) = WorkerCrew.Share(_batch, _active, thread);
            Span<int> indices = _indices[thread].AsSpan(0, rows);
            for (int i = 0; i < rows; i++) indices[i] = _first + start + i;
            Span<float> x = _inputs[thread].AsSpan(0, rows * network.InputSize);
            Span<float> y = _outputs[thread].AsSpan(0, rows * network.OutputSize);
            Gather(_data, indices, x);
            network.Forward(x, y, rows);
            float loss = _trainer.Loss.Compute(y, _data, indices, Span<float>.Empty);
            _shares[thread] = Shares.Of(_data, indices, loss, _trainer.Loss.Count(_data, indices), y);
        }
    }

    private static void Gather(Dataset data, ReadOnlySpan<int> indices, Span<float> destination)
    {
        int size = data.InputSize;
        for (int i = 0; i < indices.Length; i++) data.CopyInput(indices[i], destination.Slice(i * size, size));
    }

    private void CheckData(Dataset data, string name)
    {
        ArgumentNullException.ThrowIfNull(data, name);
        if (data.Count == 0) throw new ArgumentException("The data set is empty.", name);
        if (data.InputSize != Network.InputSize)
            throw new ArgumentException($"The data set has {data.InputSize} features per sample but the network takes {Network.InputSize}.", name);
        if (data.OutputSize != Network.OutputSize)
        {
            string what = data.IsTokenSequence ? $"{data.Positions} positions × {data.ClassCount} token classes = {data.OutputSize} logits per sample"
                : data.IsClassification ? $"{data.ClassCount} classes" : $"{data.TargetSize} targets per sample";
            throw new ArgumentException($"The data set has {what} but the network has {Network.OutputSize} outputs.", name);
        }
    }
}
