using System.IO;

namespace GameMod
{
    /// <summary>Where the offline queue is kept between runs: one string, loaded and saved whole.</summary>
    public interface IQueueStorage
    {
        /// <summary>The saved text, or null when nothing was saved.</summary>
        string Load();
        void Save(string text);
    }

    /// <summary>In memory only: the queue outlives network outages, not restarts.</summary>
    public sealed class MemoryQueueStorage : IQueueStorage
    {
        string value;
        public string Load() => value;
        public void Save(string text) { value = text; }
    }

    /// <summary>
    /// A file (e.g. under Application.persistentDataPath). Written to a temporary file and moved
    /// into place, so a crash mid-write never leaves half a queue.
    /// </summary>
    public sealed class FileQueueStorage : IQueueStorage
    {
        readonly string path;
        public FileQueueStorage(string path) { this.path = path; }

        public string Load() => File.Exists(path) ? File.ReadAllText(path) : null;

        public void Save(string text)
        {
            var tmp = path + ".tmp";
            File.WriteAllText(tmp, text);
            if (File.Exists(path)) File.Delete(path);
            File.Move(tmp, path);
        }
    }
}
