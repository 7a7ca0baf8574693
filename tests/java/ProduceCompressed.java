// A portal that nobody here wrote: the Apache Kafka Java producer with default settings but
// for compression.type. Reads "key<TAB>value" lines from stdin and produces each as a record,
// batched (linger.ms) so the broker stores compressed batches.
// Run in source-file mode: java -cp '<kafka jars>/*' ProduceCompressed.java BOOTSTRAP TOPIC CODEC

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class ProduceCompressed {
    public static void main(String[] args) throws Exception {
        Properties config = new Properties();
        config.put("bootstrap.servers", args[0]);
        config.put("compression.type", args[2]);
        config.put("linger.ms", "50");
        config.put("key.serializer", ByteArraySerializer.class.getName());
        config.put("value.serializer", ByteArraySerializer.class.getName());
        int sent = 0;
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(config);
             BufferedReader lines = new BufferedReader(
                 new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
            String line;
            while ((line = lines.readLine()) != null) {
                String[] parts = line.split("\t", 2);
                producer.send(new ProducerRecord<>(
                    args[1],
                    parts[0].getBytes(StandardCharsets.UTF_8),
                    parts[1].getBytes(StandardCharsets.UTF_8)));
                sent++;
            }
            producer.flush();
        }
        System.out.println("produced " + sent + " records with " + args[2]);
    }
}
