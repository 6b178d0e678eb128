"""The read models: answers of the API from the stored records, and the rules every list keeps."""
